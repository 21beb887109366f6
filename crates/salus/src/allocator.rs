//! The process's memory allocator: mimalloc, told to hand freed memory back to the kernel in a
//! way that does not make the kernel zero it again.
//!
//! mimalloc rather than glibc's malloc: an import allocates in the preparing threads and frees
//! in the writer, and glibc spent ~13% of the load's CPU in its arenas (cross-thread frees, heap
//! growth by mprotect); with mimalloc the Synthea import is ~8% faster (docs/PERFORMANCE.md).

use libmimalloc_sys as ffi;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_decommits` in mimalloc 3's `mi_option_e` (the binding names no constant for
/// it); `every_option_is_where_mimalloc_declares_it` checks the position by the defaults.
const PURGE_DECOMMITS: ffi::mi_option_t = 5;

/// Called first in `main`, before any other thread exists (mimalloc's option setters are not
/// thread safe).
///
/// By default mimalloc purges memory it has not used for a while with `MADV_DONTNEED`, and the
/// kernel backs it with transparent huge pages: the next allocation there faulted in a 2 MB page
/// that the kernel zeroed first. In a Synthea import that zeroing was 15% of all CPU samples.
/// Purging with `MADV_FREE` instead leaves the pages in place until the kernel needs the memory:
/// 1.08x the import rate side by side, less CPU. An operator's `MIMALLOC_PURGE_DECOMMITS` wins.
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DECOMMITS").is_none() {
        // SAFETY: no other thread is running yet, and the option is one mimalloc declares.
        unsafe { ffi::mi_option_set(PURGE_DECOMMITS, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_where_mimalloc_declares_it() {
        // The defaults of the option and its neighbours, from mimalloc 3's `options.c`: if the
        // enumeration moved, these no longer line up.
        // SAFETY: reading options is safe from any thread.
        let (arena_eager_commit, purge_decommits, purge_delay) =
            unsafe { (ffi::mi_option_get(4), ffi::mi_option_get(PURGE_DECOMMITS), ffi::mi_option_get(15)) };
        if std::env::var_os("MIMALLOC_PURGE_DECOMMITS").is_none() {
            assert_eq!(purge_decommits, 1);
        }
        assert_eq!((arena_eager_commit, purge_delay), (2, 1000));
    }
}
