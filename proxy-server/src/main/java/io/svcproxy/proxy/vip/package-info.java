/**
 * ClusterIPs on an interface ({@code proxy.vipInterface}): keeps exactly the current ClusterIPs as local
 * addresses, like kube-proxy's {@code kube-ipvs0}. {@link io.svcproxy.proxy.vip.VipInterface} does it with the
 * {@code ip} command of iproute2 and removes only the addresses it added. Called by the reconciler on the
 * control-plane thread; depends on nothing but the JDK, {@code config}'s address formatting and SLF4J.
 */
package io.svcproxy.proxy.vip;
