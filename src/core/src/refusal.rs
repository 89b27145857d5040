//! What a write does when the pool refuses the frame a page needs.
//!
//! The pool refuses a frame at `mem_limit` ([`crate::pool`]). What follows depends on
//! the frame, on whether a backing device can take the page, and on where the bio is
//! handled: in `submit_bio`, which must not wait for the backing device, or on the
//! device's work queue, which may.

/// Where a write bio is being handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteContext {
    /// In `submit_bio`: must not wait for the backing device.
    Submitter,
    /// On the work queue, after a deferral: may.
    Worker,
    /// On the work queue while writeback backs off from a failing backing device.
    WorkerBackingOff,
}

/// What to do with a page whose frame the pool refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnRefusal {
    /// A multi-page frame was refused: a single page may still fit under the limit.
    TrySinglePage,
    /// Hand the bio to the work queue, which makes room by writeback first.
    Defer,
    /// Store the page straight to the backing device, in a block of its own.
    StoreDirect,
    /// Refuse the store: the slot's old content is dropped and the write fails
    /// (frontswap's refused store, which swap turns into a fall-through).
    Refuse,
}

/// Decides what a refused frame means: a multi-page frame is tried again as a single
/// page; a single page refused with a backing device is deferred from `submit_bio`
/// and stored directly on the work queue, unless writeback is backing off from a
/// failing device (a direct store would fail the same way); without a backing device
/// the store is refused.
pub fn on_frame_refused(single_page: bool, has_backing: bool, context: WriteContext) -> OnRefusal {
    if !single_page {
        return OnRefusal::TrySinglePage;
    }
    if !has_backing {
        return OnRefusal::Refuse;
    }
    match context {
        WriteContext::Submitter => OnRefusal::Defer,
        WriteContext::Worker => OnRefusal::StoreDirect,
        WriteContext::WorkerBackingOff => OnRefusal::Refuse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_page_frame_is_tried_as_a_single_page_first() {
        for backing in [false, true] {
            for context in [
                WriteContext::Submitter,
                WriteContext::Worker,
                WriteContext::WorkerBackingOff,
            ] {
                assert_eq!(
                    on_frame_refused(false, backing, context),
                    OnRefusal::TrySinglePage
                );
            }
        }
    }

    #[test]
    fn without_a_backing_device_a_refused_page_is_refused_anywhere() {
        for context in [
            WriteContext::Submitter,
            WriteContext::Worker,
            WriteContext::WorkerBackingOff,
        ] {
            assert_eq!(on_frame_refused(true, false, context), OnRefusal::Refuse);
        }
    }

    #[test]
    fn with_a_backing_device_the_context_decides() {
        assert_eq!(
            on_frame_refused(true, true, WriteContext::Submitter),
            OnRefusal::Defer
        );
        assert_eq!(
            on_frame_refused(true, true, WriteContext::Worker),
            OnRefusal::StoreDirect
        );
        assert_eq!(
            on_frame_refused(true, true, WriteContext::WorkerBackingOff),
            OnRefusal::Refuse
        );
    }
}
