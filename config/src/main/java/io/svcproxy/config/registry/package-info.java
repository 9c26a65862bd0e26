/**
 * The registry: merges what the sources say (the config file with its registry files, and the Kubernetes API)
 * into one immutable, versioned desired state, and hands every new version to one listener. Called from the
 * sources' threads; serialised by its own lock. Depends only on the config records.
 */
package io.svcproxy.config.registry;
