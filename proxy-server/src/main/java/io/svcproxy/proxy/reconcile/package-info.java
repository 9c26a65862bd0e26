/**
 * The decisions step: compares the desired Service ports with the ones in force and applies the difference,
 * binding new listeners, unbinding removed ones and swapping endpoint sets. Runs on the control-plane thread
 * (start-up, reloads); never on an event loop. Depends on {@code config}, {@code balancer} and the data plane.
 */
package io.svcproxy.proxy.reconcile;
