/**
 * The Ingress's data plane. {@link io.svcproxy.ingress.proxy.HttpIngressServer} (HTTP/1.1 and h2c) and
 * {@link io.svcproxy.ingress.proxy.HttpsIngressServer} (TLS by SNI from {@link io.svcproxy.ingress.proxy.TlsCertificates},
 * h2 or http/1.1 by ALPN) accept; {@code ClientPipelines} sets each connection up; {@code IngressFrontendHandler}
 * (one per HTTP/1.1 connection) or {@code Http2StreamFrontend} (one per HTTP/2 stream, on the connection's
 * {@code Http2IngressHandler}) routes each request, and its {@code Exchange} relays it to an endpoint picked by the
 * Service port's scheduler over the event loop's kept-alive connections;
 * {@code IngressBackendHandler} relays the response back; {@code Tunnel} relays WebSocket bytes after a 101.
 * Depends on balancer, the routing table and Netty. Every handler of a request runs on its client connection's
 * event loop; {@code TlsCertificates.update} runs on the control plane.
 */
package io.svcproxy.ingress.proxy;
