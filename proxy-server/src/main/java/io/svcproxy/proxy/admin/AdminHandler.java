package io.svcproxy.proxy.admin;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.ReadTimeoutException;
import io.netty.handler.timeout.WriteTimeoutException;
import io.netty.util.AttributeKey;
import io.svcproxy.proxy.admin.RenderQueue.Rendered;
import io.svcproxy.proxy.dataplane.ServiceTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes admin requests. Shared by every admin connection; runs on the admin server's single event loop, so a
 * scrape or a JSON rendering never competes with the data plane's loops.
 */
@Sharable
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    static final String TEXT = "text/plain; charset=utf-8";
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    static final String JSON = "application/json";
    static final String HTML = "text/html; charset=utf-8";

    private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);
    /** The paths answered besides the stats page's files ({@link StatusPage#ASSETS}). */
    /** The answers whose size grows with the config: counted against the bytes that may wait for slow clients. */
    private static final Set<String> LARGE = Set.of("/metrics", "/api/v1/services", "/api/v1/ingresses");
    private static final Set<String> PATHS = Set.of("/healthz", "/readyz", "/metrics", "/api/v1/services",
            "/api/v1/ingresses", WhatIf.PATH);

    private final ServiceTable table;
    private final PrometheusMeterRegistry registry;
    private final ServicesJson json = new ServicesJson();
    private final IngressesJson ingressesJson = new IngressesJson();
    private final io.svcproxy.proxy.ingress.IngressListeners ingress;

    /** The most body bytes of the large answers that may wait, unsent, for clients that do not read them. */
    private final long maxPendingBytes;
    /** Body bytes of large answers written and not yet taken by their clients' sockets; the event loop's own. */
    private long pendingBytes;

    /**
     * A connection's requests read while one of its answers renders on {@link #renderer} (pipelined behind it): answered
     * in order once it is sent. Set while a render of the connection is under way, {@code null} otherwise.
     */
    private static final AttributeKey<ArrayDeque<FullHttpRequest>> WAITING =
            AttributeKey.valueOf("svcproxy.admin.waiting");

    /** Where the answers that take long (the scrape, the JSON APIs, a what-if replay) are made, one at a time. */
    private final RenderQueue renderer;

    AdminHandler(ServiceTable table, PrometheusMeterRegistry registry,
                 io.svcproxy.proxy.ingress.IngressListeners ingress, long maxPendingBytes, RenderQueue renderer) {
        this.renderer = renderer;
        this.maxPendingBytes = maxPendingBytes;
        this.table = table;
        this.registry = registry;
        this.ingress = ingress;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        ArrayDeque<FullHttpRequest> waiting = ctx.channel().attr(WAITING).get();
        if (waiting != null) {
            waiting.add(request.retain()); // behind an answer being made: answered after it, in order
            return;
        }
        handle(ctx, request);
    }

    private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
        DecoderResult result = request.decoderResult();
        if (result.isFailure()) {
            respond(ctx, request, malformed(result.cause()), TEXT, bytes("bad request\n"), false);
            return;
        }
        if (request.protocolVersion().majorVersion() != 1 || request.protocolVersion().minorVersion() > 1) {
            // Netty parses any HTTP/x.y; answer only 1.0 and 1.1, and never echo another version back
            request.setProtocolVersion(HttpVersion.HTTP_1_1);
            respond(ctx, request, HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, TEXT,
                    bytes("http version not supported\n"), false);
            return;
        }
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        QueryStringDecoder query = new QueryStringDecoder(originForm(request.uri()));
        String path;
        try {
            path = query.path();
            query.parameters(); // decoded here, so that a bad escape in either is the client's 400
        } catch (IllegalArgumentException e) {
            respond(ctx, request, HttpResponseStatus.BAD_REQUEST, TEXT,
                    bytes("bad request: malformed percent-encoding\n"), false);
            return;
        }
        if (!PATHS.contains(path) && !StatusPage.ASSETS.containsKey(path)) {
            respond(ctx, request, HttpResponseStatus.NOT_FOUND, TEXT, bytes("not found\n"), keepAlive);
            return;
        }
        HttpMethod method = request.method();
        if (!method.equals(HttpMethod.GET) && !method.equals(HttpMethod.HEAD)) {
            FullHttpResponse response = response(HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT,
                    bytes("method not allowed\n"));
            response.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            send(ctx, request, response, keepAlive);
            return;
        }
        if (LARGE.contains(path) && pendingBytes >= maxPendingBytes) {
            // large answers already wait for clients that do not read them: another would only add to the memory
            // they hold (a scrape is megabytes with thousands of Service ports); the probes are still answered
            FullHttpResponse busy = response(HttpResponseStatus.SERVICE_UNAVAILABLE, TEXT,
                    bytes("busy: earlier answers are still waiting for their clients to read them\n"));
            busy.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
            send(ctx, request, busy, keepAlive);
            return;
        }
        switch (path) {
            case "/healthz" -> respond(ctx, request, HttpResponseStatus.OK, TEXT, bytes("ok\n"), keepAlive);
            case "/readyz" -> {
                if (table.isReady()) {
                    respond(ctx, request, HttpResponseStatus.OK, TEXT, bytes("ok\n"), keepAlive);
                } else {
                    respond(ctx, request, HttpResponseStatus.SERVICE_UNAVAILABLE, TEXT, bytes("not ready\n"),
                            keepAlive);
                }
            }
            case "/metrics", "/api/v1/services", "/api/v1/ingresses", WhatIf.PATH ->
                    renderLater(ctx, request, path, query, keepAlive);
            default -> serve(ctx, request, StatusPage.ASSETS.get(path), keepAlive);
        }
    }

    /**
     * Makes the answer on {@link #renderer}, not on the admin event loop: a scrape of thousands of Service ports takes
     * seconds, and the kubelet's probes ({@code /healthz}, {@code /readyz}, 1 s timeout by default) must not wait
     * behind it. The connection reads nothing more meanwhile; what it had sent already waits ({@link #WAITING}).
     */
    private void renderLater(ChannelHandlerContext ctx, FullHttpRequest request, String path,
                             QueryStringDecoder query, boolean keepAlive) {
        ctx.channel().attr(WAITING).set(new ArrayDeque<>());
        ctx.channel().config().setAutoRead(false);
        renderer.submit(ctx, request.retain(), () -> render(ctx, path, query),
                rendered -> finish(ctx, request, path, rendered, keepAlive));
    }

    private Rendered render(ChannelHandlerContext ctx, String path, QueryStringDecoder query) throws IOException {
        return switch (path) {
            case "/metrics" -> new Rendered(HttpResponseStatus.OK, PROMETHEUS_TEXT, scrape(ctx), true, null);
            case "/api/v1/services" -> new Rendered(HttpResponseStatus.OK, JSON,
                    Unpooled.wrappedBuffer(json.render(table)), true, null);
            case "/api/v1/ingresses" -> new Rendered(HttpResponseStatus.OK, JSON,
                    Unpooled.wrappedBuffer(ingressesJson.render(table, ingress)), true, null);
            case WhatIf.PATH -> {
                WhatIf.Answer a = WhatIf.answer(table, query);
                yield new Rendered(a.status(), a.contentType(), bytes(a.body()), false, null);
            }
            default -> throw new IllegalStateException("not rendered: " + path);
        };
    }

    /** Sends a rendered answer (event loop), then answers the requests that waited behind it, in order. */
    private void finish(ChannelHandlerContext ctx, FullHttpRequest request, String path, Rendered rendered,
                        boolean keepAlive) {
        try {
            if (rendered.failure() != null) {
                log.warn("Admin request failed path={}", path, rendered.failure());
                respond(ctx, request, HttpResponseStatus.INTERNAL_SERVER_ERROR, TEXT, bytes("internal error\n"),
                        false);
            } else if (rendered.large()) {
                sendLarge(ctx, request, rendered.contentType(), rendered.body(), keepAlive);
            } else {
                respond(ctx, request, rendered.status(), rendered.contentType(), rendered.body(), keepAlive);
            }
        } finally {
            request.release();
        }
        ArrayDeque<FullHttpRequest> waiting = ctx.channel().attr(WAITING).getAndSet(null);
        FullHttpRequest next;
        while (waiting != null && (next = waiting.poll()) != null) {
            try {
                handle(ctx, next);
            } finally {
                next.release();
            }
            ArrayDeque<FullHttpRequest> again = ctx.channel().attr(WAITING).get();
            if (again != null) { // another answer is being made: the rest waits behind it
                again.addAll(waiting);
                return;
            }
        }
        if (ctx.channel() instanceof DuplexChannel duplex && duplex.isInputShutdown()) {
            closeWhenWritten(ctx); // the client half-closed while this was made: it has nothing more to ask
        } else {
            ctx.channel().config().setAutoRead(true);
        }
    }

    /**
     * The client half-closed after its requests ({@code nc -N}, socat, a script's {@code /dev/tcp} with {@code exec
     * 3>&-}), as kube-proxy's and HAProxy's clients may: the listener allows half-closure, so the answers it is owed
     * are still sent, then the connection closes ({@link #finish} closes it when an answer is being made).
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof ChannelInputShutdownEvent && ctx.channel().attr(WAITING).get() == null) {
            closeWhenWritten(ctx);
        }
        super.userEventTriggered(ctx, evt);
    }

    /** Closes the connection once what was written to it is sent (the empty-buffer-then-close idiom). */
    private static void closeWhenWritten(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        renderer.closed(ctx.channel()); // nobody is left to read its answer
        ArrayDeque<FullHttpRequest> waiting = ctx.channel().attr(WAITING).getAndSet(null);
        if (waiting != null) {
            waiting.forEach(FullHttpRequest::release);
        }
        super.channelInactive(ctx);
    }

    /**
     * Answers with one of the page's files. The browser revalidates on every load ({@code no-cache}) and gets
     * 304 while the entity tag matches, so a new jar's files are never hidden behind an old cache.
     */
    private static void serve(ChannelHandlerContext ctx, FullHttpRequest request, StatusPage.Asset asset,
                              boolean keepAlive) {
        boolean fresh = noneMatchHolds(request.headers().get(HttpHeaderNames.IF_NONE_MATCH), asset.etag());
        FullHttpResponse response = fresh
                ? response(HttpResponseStatus.NOT_MODIFIED, asset.contentType(), Unpooled.EMPTY_BUFFER)
                : response(HttpResponseStatus.OK, asset.contentType(), Unpooled.wrappedBuffer(asset.body()));
        response.headers()
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE)
                .set(HttpHeaderNames.ETAG, asset.etag());
        send(ctx, request, response, keepAlive);
    }

    /**
     * Whether an {@code If-None-Match} field names {@code etag}, as RFC 9110 13.1.2 reads it: {@code *}, or a list
     * of entity tags compared weakly (a {@code W/} prefix on either side does not count).
     */
    static boolean noneMatchHolds(String field, String etag) {
        if (field == null) {
            return false;
        }
        if (field.strip().equals("*")) {
            return true;
        }
        String tag = opaque(etag);
        for (String listed : field.split(",")) {
            if (opaque(listed.strip()).equals(tag)) {
                return true;
            }
        }
        return false;
    }

    private static String opaque(String etag) {
        return etag.startsWith("W/") ? etag.substring(2) : etag;
    }

    private ByteBuf scrape(ChannelHandlerContext ctx) throws IOException {
        ByteBuf buf = ctx.alloc().buffer(16 * 1024);
        try (ByteBufOutputStream out = new ByteBufOutputStream(buf)) {
            registry.scrape(out);
        } catch (IOException | RuntimeException e) {
            buf.release();
            throw e;
        }
        return buf;
    }

    private static HttpResponseStatus malformed(Throwable cause) {
        if (cause instanceof TooLongHttpHeaderException) {
            return HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
        }
        if (cause instanceof TooLongHttpLineException) {
            return HttpResponseStatus.REQUEST_URI_TOO_LONG;
        }
        if (cause instanceof TooLongFrameException) {
            return HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE;
        }
        return HttpResponseStatus.BAD_REQUEST;
    }

    private static void respond(ChannelHandlerContext ctx, FullHttpRequest request, HttpResponseStatus status,
                                String contentType, ByteBuf body, boolean keepAlive) {
        send(ctx, request, response(status, contentType, body), keepAlive);
    }

    /**
     * Sends a {@code 200} whose body grows with the number of Service ports, counted in {@link #pendingBytes} until
     * the client's socket took it all (or the connection closed: the write timeout closes one that stops reading).
     */
    private void sendLarge(ChannelHandlerContext ctx, FullHttpRequest request, String contentType, ByteBuf body,
                           boolean keepAlive) {
        long size = request.method().equals(HttpMethod.HEAD) ? 0 : body.readableBytes();
        pendingBytes += size;
        send(ctx, request, response(HttpResponseStatus.OK, contentType, body), keepAlive)
                .addListener(f -> pendingBytes -= size);
    }

    /** An answer with the fields every admin answer carries (also {@link AdminAggregator}'s refusals). */
    static FullHttpResponse response(HttpResponseStatus status, String contentType, ByteBuf body) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, contentType)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
                // every answer may be gzipped for one client and not another (HttpContentCompressor)
                .set(HttpHeaderNames.VARY, HttpHeaderNames.ACCEPT_ENCODING)
                .set("X-Content-Type-Options", "nosniff")
                .set(HttpHeaderNames.CONTENT_SECURITY_POLICY, StatusPage.CONTENT_SECURITY_POLICY)
                .set(HttpHeaderNames.X_FRAME_OPTIONS, "DENY")
                .set("Referrer-Policy", "no-referrer");
        return response;
    }

    /**
     * Writes {@code response}; a HEAD request gets its headers, Content-Length included, without the body. The
     * connection stays open only when the client asked for keep-alive.
     */
    private static ChannelFuture send(ChannelHandlerContext ctx, FullHttpRequest request, FullHttpResponse response,
                                      boolean keepAlive) {
        response.setProtocolVersion(request.protocolVersion());
        if (!response.status().equals(HttpResponseStatus.NOT_MODIFIED)) {
            // a 304 has no body, and a Content-Length there must be the 200's (RFC 9110 8.6): none is sent
            HttpUtil.setContentLength(response, response.content().readableBytes());
        }
        if (request.method().equals(HttpMethod.HEAD)) {
            response.content().clear();
        }
        HttpUtil.setKeepAlive(response, keepAlive);
        ChannelFuture write = ctx.writeAndFlush(response);
        if (!keepAlive) {
            write.addListener(ChannelFutureListener.CLOSE);
        }
        return write;
    }

    private static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof ReadTimeoutException) {
            log.debug("Closing idle admin connection client={}", ctx.channel().remoteAddress());
        } else if (cause instanceof WriteTimeoutException) {
            log.debug("Closing admin connection that does not read its answer client={}",
                    ctx.channel().remoteAddress());
        } else if (cause instanceof IOException || cause instanceof PrematureChannelClosureException) {
            // the network's, or a client that closed inside its request (its body cut short): not the proxy's fault
            log.debug("Admin connection error client={}: {}", ctx.channel().remoteAddress(), cause.toString());
        } else {
            log.warn("Unexpected admin error client={}", ctx.channel().remoteAddress(), cause);
        }
        ctx.close();
    }

    /**
     * The target in origin form: an absolute-form target ({@code http://host/metrics}, which a server must accept,
     * RFC 9112 3.2.2) is its path and query; anything else as received.
     */
    static String originForm(String target) {
        int scheme = target.indexOf("://");
        if (scheme <= 0 || !(target.regionMatches(true, 0, "http", 0, scheme)
                || target.regionMatches(true, 0, "https", 0, scheme))) {
            return target;
        }
        int path = target.indexOf('/', scheme + 3);
        if (path < 0) {
            int query = target.indexOf('?', scheme + 3);
            return query < 0 ? "/" : "/" + target.substring(query);
        }
        return target.substring(path);
    }
}
