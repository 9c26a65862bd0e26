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
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The HTTPS listener's certificates by SNI host name: an exact name before a one-label wildcard, the first
 * entry for clients that send no SNI (or a name no entry has). {@link #update} builds the contexts first and then
 * swaps the whole mapping with one volatile write: handshakes after it use the new certificates, connections
 * already established keep theirs (nothing is dropped).
 *
 * <p>Each pair stands on its own, as in ingress-nginx: one that does not load is left out of the mapping (its hosts
 * get the default certificate) and reported ({@link Outcome}), and the others are served. A pair from the same
 * source (file pair or Secret) that loaded before keeps serving its previous certificate when its new content does
 * not load, so a half-written or bad renewal takes nothing away. An entry whose PEM is unchanged keeps its context.
 *
 * <p>OpenSSL (netty-tcnative BoringSSL) when its native library loads and supports ALPN, else the JDK provider.
 * Thread-safe: {@link #select} runs on event loops, {@link #update} on the control plane.
 */
public final class TlsCertificates {
    private static final Pattern CERTIFICATE_BLOCK = Pattern.compile(
            "-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", Pattern.DOTALL);
    private static final ApplicationProtocolConfig ALPN = new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);

    /** A pair in the mapping: the entry it was loaded from and its leaf certificate's end of validity. */
    public record Served(TlsEntry entry, Instant notAfter) {
    }

    /**
     * What became of an entry of an update: the pair that serves for it ({@code null}: none, its hosts get the
     * default certificate) and, if its content did not load, why ({@code served} is then its source's previous pair,
     * if one had loaded).
     */
    public record Outcome(TlsEntry entry, Served served, String problem) {
    }

    /** A loaded pair and its context. */
    private record Loaded(Served served, SslContext context) {
    }

    private final SslProvider provider;
    private volatile Mapping<String, SslContext> mapping;
    /** What the mapping serves, in its order; by source in {@link #bySource}. */
    private volatile List<Served> served = List.of();
    private volatile List<Outcome> outcomes = List.of();
    /** The loaded pairs by {@link TlsEntry#source}; written by {@link #update} only. */
    private Map<String, Loaded> bySource = Map.of();

    private TlsCertificates(SslProvider provider) {
        this.provider = provider;
    }

    /** Returns the certificates of {@code entries} (an empty list refuses every handshake); see {@link #outcomes}. */
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
     * Replaces the certificates atomically, each pair on its own (see the class). Established connections keep
     * theirs. Returns what became of each entry, in order (also {@link #outcomes} until the next update).
     */
    public synchronized List<Outcome> update(List<TlsEntry> next) {
        List<TlsEntry> copy = List.copyOf(next);
        List<Loaded> loaded = new ArrayList<>();
        List<Outcome> results = new ArrayList<>();
        Map<String, Loaded> sources = new HashMap<>();
        for (int i = 0; i < copy.size(); i++) {
            TlsEntry entry = copy.get(i);
            String source = entry.source();
            Loaded before = bySource.get(source);
            Loaded now;
            String problem = null;
            if (before != null && Arrays.equals(before.served().entry().certPem(), entry.certPem())
                    && Arrays.equals(before.served().entry().keyPem(), entry.keyPem())) {
                now = before;
            } else {
                try {
                    now = build(entry);
                } catch (IllegalArgumentException e) {
                    problem = e.getMessage();
                    now = before;
                }
            }
            results.add(new Outcome(entry, now == null ? null : now.served(), problem));
            if (now != null && sources.putIfAbsent(source, now) == null) {
                loaded.add(now);
            }
        }
        SslContext first = null;
        DomainWildcardMappingBuilder<SslContext> builder = null;
        Set<String> seen = new HashSet<>();
        List<Served> servedNow = new ArrayList<>();
        for (Loaded l : loaded) {
            if (first == null) {
                first = l.context();
                builder = new DomainWildcardMappingBuilder<>(first);
            }
            for (String host : l.served().entry().hosts()) {
                if (seen.add(host.toLowerCase(Locale.ROOT))) { // the first entry naming a host serves it
                    builder.add(host, l.context());
                }
            }
            servedNow.add(l.served());
        }
        mapping = builder == null ? host -> null : builder.build();
        served = List.copyOf(servedNow);
        outcomes = List.copyOf(results);
        bySource = sources;
        return outcomes;
    }

    /** The pairs served now, in the mapping's order (the first serves clients without SNI). */
    public List<Served> served() {
        return served;
    }

    /** What became of each entry of the last update, in its order. */
    public List<Outcome> outcomes() {
        return outcomes;
    }

    /** The entries served now. */
    public List<TlsEntry> entries() {
        List<TlsEntry> out = new ArrayList<>();
        for (Served s : served) {
            out.add(s.entry());
        }
        return out;
    }

    /**
     * The context for an SNI host name ({@code null}: none sent), or {@code null} when there is no entry. A fully
     * qualified name's trailing dot ({@code shop.example.}, which RFC 6066 asks clients not to send and some do) is
     * left out, as routing leaves it out of the Host and as nginx leaves it out of the name it chooses by.
     */
    public SslContext select(String hostname) {
        if (hostname != null && hostname.length() > 1 && hostname.endsWith(".")) {
            hostname = hostname.substring(0, hostname.length() - 1);
        }
        return mapping.map(hostname);
    }

    private Loaded build(TlsEntry entry) {
        Instant notAfter;
        try {
            // the first CERTIFICATE block: a file may keep its key beside the chain, which the JDK's parser refuses
            // and the listener's PEM reader skips
            Matcher block = CERTIFICATE_BLOCK.matcher(new String(entry.certPem(), StandardCharsets.US_ASCII));
            if (!block.find()) {
                throw new CertificateException("no certificate");
            }
            Certificate leaf = CertificateFactory.getInstance("X.509").generateCertificate(
                    new ByteArrayInputStream(block.group().getBytes(StandardCharsets.US_ASCII)));
            notAfter = ((X509Certificate) leaf).getNotAfter().toInstant();
        } catch (CertificateException | RuntimeException e) {
            throw new IllegalArgumentException(entry.certSource() + ": not a PEM X.509 certificate chain ("
                    + e.getMessage() + ")", e);
        }
        try {
            return new Loaded(new Served(entry, notAfter), SslContextBuilder.forServer(new ByteArrayInputStream(entry.certPem()),
                            new ByteArrayInputStream(entry.keyPem()))
                    .sslProvider(provider)
                    .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                    .applicationProtocolConfig(ALPN)
                    .build());
        } catch (Exception e) {
            throw new IllegalArgumentException(entry.keySource() + ": the private key does not load for "
                    + entry.certSource() + " (expected: a PEM PKCS#8 key matching the certificate; " + e.getMessage()
                    + ")", e);
        }
    }
}
