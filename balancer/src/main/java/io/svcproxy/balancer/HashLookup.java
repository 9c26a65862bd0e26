package io.svcproxy.balancer;

import java.util.List;

/**
 * The lookup shared by the hashing schedulers: the kernel's {@code ip_vs_sh_get} / {@code ip_vs_mh_get}, and
 * with fallback their {@code _get_fallback} walk, which rehashes the key with offsets from the first slot on
 * until it finds an available backend, an empty slot, or has tried {@code size} of them.
 */
final class HashLookup {
    /** The slot of a key with an offset: {@code IpvsHash.bucket} for dh and sh, {@code MaglevTable.slot} for mh. */
    @FunctionalInterface
    interface SlotHash {
        int slot(int fold, int port, int offset);
    }

    private HashLookup() {
    }

    /** Returns the backend of the key's first slot (whatever its weight), {@code null} for an empty slot. */
    static Backend first(List<Backend> backends, int[] table, SlotHash hash, int fold, int port) {
        int idx = table[hash.slot(fold, port, 0)];
        return idx < 0 ? null : backends.get(idx);
    }

    /**
     * Returns the backend the table gives the key, or with {@code fallback} the first available one of the walk;
     * {@code null} for an empty slot or when none is available.
     *
     * @param table backend index per slot, -1 for an empty slot
     */
    static Backend lookup(List<Backend> backends, int[] table, int size, SlotHash hash, int fold, int port,
                          boolean fallback, PickContext ctx) {
        int ihash = hash.slot(fold, port, 0);
        int idx = table[ihash];
        if (idx < 0) {
            return null;
        }
        Backend b = backends.get(idx);
        if (Schedulers.isAvailable(b, ctx)) {
            return b;
        }
        if (!fallback) {
            return null;
        }
        for (int offset = 0; offset < size; offset++) {
            int roffset = (offset + ihash) % size;
            idx = table[hash.slot(fold, port, roffset)];
            if (idx < 0) {
                break;
            }
            b = backends.get(idx);
            if (Schedulers.isAvailable(b, ctx)) {
                return b;
            }
        }
        return null;
    }
}
