// Independent oracle for the KMS codec tests (not part of the SDK): the JDK's own XML-DSig
// (Apache Santuario inside java.xml.crypto) canonicalizes, signs and verifies, so the
// vectors it writes check our Canonical XML 1.0 and HMAC-SHA-256 profile against another
// implementation. Run by gen.sh; needs only a JDK (17 tested).
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import javax.xml.crypto.dsig.*;
import javax.xml.crypto.dsig.dom.*;
import javax.xml.crypto.dsig.keyinfo.*;
import javax.xml.crypto.dsig.spec.*;
import javax.xml.parsers.*;
import javax.xml.transform.*;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.*;
import com.sun.org.apache.xml.internal.security.c14n.Canonicalizer;

public class KmsDsigOracle {
  static byte[] hex(String h) {
    byte[] b = new byte[h.length() / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
    return b;
  }

  static Document parse(String xml) throws Exception {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    return f.newDocumentBuilder().parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
  }

  static void markIds(Element e) {
    if (e.hasAttributeNS(null, "Id")) e.setIdAttributeNS(null, "Id", true);
    for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) if (n instanceof Element) markIds((Element) n);
  }

  static Element findLocal(Element e, String local) {
    if (local.equals(e.getLocalName())) return e;
    for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling())
      if (n instanceof Element) { Element r = findLocal((Element) n, local); if (r != null) return r; }
    return null;
  }

  public static void main(String[] a) throws Exception {
    com.sun.org.apache.xml.internal.security.Init.init();
    switch (a[0]) {
      case "c14n": {
        File[] files = new File(a[1]).listFiles((d, n) -> n.endsWith(".xml"));
        Arrays.sort(files);
        for (File f : files) {
          Document doc = parse(Files.readString(f.toPath()));
          Element apex = findLocal(doc.getDocumentElement(), "apex");
          if (apex == null) apex = doc.getDocumentElement();
          ByteArrayOutputStream out = new ByteArrayOutputStream();
          Canonicalizer.getInstance(Canonicalizer.ALGO_ID_C14N_OMIT_COMMENTS).canonicalizeSubtree(apex, out);
          System.out.println(f.getName() + "\t" + Base64.getEncoder().encodeToString(out.toByteArray()));
        }
        break;
      }
      case "sign": { // sign <template> <out> <hmacKeyHex> <keyName> <bits|none> <refId>
        String xml = Files.readString(Path.of(a[1]));
        // @@WRAP:<kek hex>:<data hex>@@ → base64 of RFC 3394 AES key wrap (SunJCE AESWrap)
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("@@WRAP:([0-9a-f]+):([0-9a-f]+)@@").matcher(xml);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
          Cipher c = Cipher.getInstance("AESWrap");
          c.init(Cipher.WRAP_MODE, new SecretKeySpec(hex(m.group(1)), "AES"));
          m.appendReplacement(sb, Base64.getEncoder().encodeToString(c.wrap(new SecretKeySpec(hex(m.group(2)), "AES"))));
        }
        m.appendTail(sb);
        Document doc = parse(sb.toString());
        Element root = doc.getDocumentElement();
        markIds(root);
        XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
        Integer bits = a[5].equals("none") ? null : Integer.valueOf(a[5]);
        String refId = a[6];
        boolean enveloped = refId.equals(root.getAttributeNS(null, "Id"));
        List<Transform> tr = enveloped
            ? List.of(fac.newTransform(Transform.ENVELOPED, (TransformParameterSpec) null))
            : Collections.emptyList();
        Reference ref = fac.newReference("#" + refId, fac.newDigestMethod(DigestMethod.SHA256, null), tr, null, null);
        SignedInfo si = fac.newSignedInfo(
            fac.newCanonicalizationMethod(CanonicalizationMethod.INCLUSIVE, (C14NMethodParameterSpec) null),
            fac.newSignatureMethod(SignatureMethod.HMAC_SHA256, bits == null ? null : new HMACParameterSpec(bits)),
            List.of(ref));
        KeyInfoFactory kif = fac.getKeyInfoFactory();
        KeyInfo ki = kif.newKeyInfo(List.of(kif.newKeyName(a[4])));
        DOMSignContext ctx = new DOMSignContext(new SecretKeySpec(hex(a[3]), "HmacSHA256"), root);
        fac.newXMLSignature(si, ki).sign(ctx);
        Transformer t = TransformerFactory.newInstance().newTransformer();
        t.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
        t.transform(new DOMSource(doc), new StreamResult(new File(a[2])));
        break;
      }
      case "verify": { // verify <file> <hmacKeyHex>
        Document doc = parse(Files.readString(Path.of(a[1])));
        markIds(doc.getDocumentElement());
        NodeList nl = doc.getElementsByTagNameNS(XMLSignature.XMLNS, "Signature");
        DOMValidateContext ctx = new DOMValidateContext(new SecretKeySpec(hex(a[2]), "HmacSHA256"), nl.item(nl.getLength() - 1));
        XMLSignature sig = XMLSignatureFactory.getInstance("DOM").unmarshalXMLSignature(ctx);
        System.out.println(sig.validate(ctx) ? "valid" : "invalid");
        break;
      }
      default:
        throw new IllegalArgumentException(a[0]);
    }
  }
}
