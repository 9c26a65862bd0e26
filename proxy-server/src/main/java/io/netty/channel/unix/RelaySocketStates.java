package io.netty.channel.unix;

/**
 * What svcproxy's relay channels ({@code io.netty.channel.epoll.RelayEpollSocketChannel}) need of a
 * {@link FileDescriptor}'s state that Netty 4.2.18 keeps package-private: marking a socket's input shut down
 * without the {@code shutdown(SHUT_RD)} system call, which is what {@link Socket#shutdown(boolean, boolean)} does
 * first (the state, then the call). In Netty's package on purpose; {@code RelayChannelsNettyVersionTest} pins the
 * Netty version this was read from.
 */
public final class RelaySocketStates {
    private RelaySocketStates() {
    }

    /**
     * Marks {@code fd}'s input as shut down, as {@code shutdown(true, false)} would, without the system call; returns
     * false if it was marked already or the descriptor is closed.
     */
    public static boolean markInputShutdown(FileDescriptor fd) {
        for (;;) {
            int state = fd.state;
            if (FileDescriptor.isClosed(state) || FileDescriptor.isInputShutdown(state)) {
                return false;
            }
            if (fd.casState(state, FileDescriptor.inputShutdown(state))) {
                return true;
            }
        }
    }
}
