package io.svcproxy.proxy.admin;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * The stats page of {@code GET /}: a static HTML page, a stylesheet, a JavaScript module and an icon, read once
 * from the classpath ({@code io/svcproxy/proxy/admin/static/} inside the jar). The page has no external assets
 * and uses relative URLs only, so it works through a port-forward or a tunnel; its script polls
 * {@code api/v1/services} every second and draws everything in the browser.
 *
 * <p>Only the paths of {@link #ASSETS}, a fixed allow-list, are served: nothing is looked up from the request
 * path, so there is no directory to traverse.
 */
final class StatusPage {
    /** One file of the page, with its content type and a strong entity tag of its bytes. */
    record Asset(String contentType, byte[] body, String etag) {
    }

    /** The request paths served, each mapped to its file; read at class initialisation. */
    static final Map<String, Asset> ASSETS = Map.of(
            "/", load("index.html", AdminHandler.HTML),
            "/static/app.js", load("app.js", "text/javascript; charset=utf-8"),
            "/static/whatif.js", load("whatif.js", "text/javascript; charset=utf-8"),
            "/static/style.css", load("style.css", "text/css; charset=utf-8"),
            "/static/favicon.svg", load("favicon.svg", "image/svg+xml"));

    /**
     * The Content-Security-Policy of every admin answer: the page's own files and {@code api/v1/services}, and
     * nothing else (no inline script or style, no frames, no form posts).
     */
    static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
            + "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private StatusPage() {
    }

    private static Asset load(String name, String contentType) {
        try (InputStream in = StatusPage.class.getResourceAsStream("static/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource io/svcproxy/proxy/admin/static/" + name
                        + " (expected: packaged with the admin classes)");
            }
            byte[] body = in.readAllBytes();
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(body);
            // weak: the same tag goes with the gzipped and the plain bytes (HttpContentCompressor chooses per
            // request), which a strong tag must not (RFC 9110 8.8.3)
            return new Asset(contentType, body, "W/\"" + HexFormat.of().formatHex(digest, 0, 12) + '"');
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JVM has SHA-256
        }
    }
}
