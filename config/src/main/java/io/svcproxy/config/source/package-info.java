/**
 * Watched sources of desired state: the config file with its registry files (and the Ingresses' certificate
 * files), and the Kubernetes API (Services and EndpointSlices; Ingresses, IngressClasses and TLS Secrets). Each runs
 * on a thread of its own and reports complete, immutable snapshots to a callback; none of them touches the
 * data plane.
 */
package io.svcproxy.config.source;
