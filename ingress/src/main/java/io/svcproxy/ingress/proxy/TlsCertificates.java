package io.svcproxy.ingress.proxy;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.util.DomainWildcardMappingBuilder;
import io.netty.util.Mapping;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The HTTPS listener's certificates by SNI host name: an exact name before a one-label wildcard, the first
 * entry for clients that send no SNI (or a name no entry has). {@link #update} builds every context first and then
 * swaps the whole mapping with one volatile write: handshakes after it use the new certificates, connections
 * already established keep theirs (nothing is dropped), and a failing update keeps the old mapping.
 *
 * <p>OpenSSL (netty-tcnative BoringSSL) when its native library loads and supports ALPN, else the JDK provider.
 * Thread-safe: {@link #select} runs on event loops, {@link #update} on the control plane.
 */
public final class TlsCertificates {
    private static final ApplicationProtocolConfig ALPN = new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);

    private final SslProvider provider;
    private volatile Mapping<String, SslContext> mapping;
    private volatile List<TlsEntry> entries;

    private TlsCertificates(SslProvider provider) {
        this.provider = provider;
    }

    /**
     * Returns the certificates of {@code entries} (an empty list refuses every handshake).
     *
     * @throws IllegalArgumentException naming the file (or source) that does not load
     */
    public static TlsCertificates of(List<TlsEntry> entries) {
        return of(entries, provider());
    }

    /** As {@link #of(List)} with a given provider (tests run both). */
    static TlsCertificates of(List<TlsEntry> entries, SslProvider provider) {
        TlsCertificates certs = new TlsCertificates(provider);
        certs.update(entries);
        return certs;
    }

    /** OpenSSL when netty-tcnative loads here and supports ALPN, else the JDK's TLS. */
    public static SslProvider provider() {
        return OpenSsl.isAvailable() && SslProvider.isAlpnSupported(SslProvider.OPENSSL) ? SslProvider.OPENSSL
                : SslProvider.JDK;
    }

    /** The provider these certificates' contexts use. */
    public SslProvider sslProvider() {
        return provider;
    }

    /**
     * Replaces the certificates atomically. Established connections keep theirs.
     *
     * @throws IllegalArgumentException naming the file (or source) that does not load; the old ones stay
     */
    public void update(List<TlsEntry> next) {
        List<TlsEntry> copy = List.copyOf(next);
        SslContext first = null;
        DomainWildcardMappingBuilder<SslContext> builder = null;
        Set<String> seen = new HashSet<>();
        for (TlsEntry entry : copy) {
            SslContext context = build(entry);
            if (first == null) {
                first = context;
                builder = new DomainWildcardMappingBuilder<>(context);
            }
            for (String host : entry.hosts()) {
                if (seen.add(host.toLowerCase(Locale.ROOT))) { // the first entry naming a host serves it
                    builder.add(host, context);
                }
            }
        }
        mapping = builder == null ? host -> null : builder.build();
        entries = copy;
    }

    /** The entries in force. */
    public List<TlsEntry> entries() {
        return entries;
    }

    /** The context for an SNI host name ({@code null}: none sent), or {@code null} when there is no entry. */
    public SslContext select(String hostname) {
        return mapping.map(hostname);
    }

    private SslContext build(TlsEntry entry) {
        try {
            CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(entry.certPem()))
                    .stream().findFirst().orElseThrow(() -> new CertificateException("no certificate"));
        } catch (CertificateException | RuntimeException e) {
            throw new IllegalArgumentException(entry.certSource() + ": not a PEM X.509 certificate chain ("
                    + e.getMessage() + ")", e);
        }
        try {
            return SslContextBuilder.forServer(new ByteArrayInputStream(entry.certPem()),
                            new ByteArrayInputStream(entry.keyPem()))
                    .sslProvider(provider)
                    .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                    .applicationProtocolConfig(ALPN)
                    .build();
        } catch (Exception e) {
            throw new IllegalArgumentException(entry.keySource() + ": the private key does not load for "
                    + entry.certSource() + " (expected: a PEM PKCS#8 key matching the certificate; " + e.getMessage()
                    + ")", e);
        }
    }
}
