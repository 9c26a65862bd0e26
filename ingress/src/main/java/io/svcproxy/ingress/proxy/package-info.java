/**
 * The Ingress's HTTP/1.1 data plane: {@link io.svcproxy.ingress.proxy.HttpIngressServer} accepts,
 * {@link io.svcproxy.ingress.proxy.IngressFrontendHandler} routes each request and relays it to an endpoint picked
 * by the Service's scheduler, {@link io.svcproxy.ingress.proxy.IngressBackendHandler} relays the response back.
 * Both handlers of one request run on the client connection's event loop.
 */
package io.svcproxy.ingress.proxy;
