/**
 * ClusterIPs on an interface ({@code proxy.vipInterface}): keeps exactly the current ClusterIPs as local
 * addresses, like kube-proxy's {@code kube-ipvs0}. Called by the reconciler on the control-plane thread.
 */
package io.svcproxy.proxy.vip;
