//! A bulkhead: at most N calls at once, an optional bounded queue with a
//! maximum wait, and [`Rejected::Full`] beyond that.
//!
//! A call holds a [`BulkheadPermit`] while it runs; the permit gives its
//! slot back when dropped, so a slot is returned when the call finishes,
//! panics, or (async) is cancelled while running. A caller waiting in the
//! queue leaves it when its wait ends or its future is dropped.
//!
//! The fast path (a free slot) is one compare-and-swap to take the slot and
//! count the admission (one word holds both, see `slots`) and one atomic
//! subtraction plus one load to give it back: no lock, no allocation. Waiters are woken by the release that frees a slot; the queue
//! is not strictly first-come first-served (a newcomer can take a slot that
//! was just freed).

mod builder;
mod slots;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::counters::BulkheadCounters;
use super::episode::Reporter;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Rejected};
use crate::tally::Tally;
use slots::Slots;

pub use builder::BulkheadBuilder;

/// At most `max_concurrent` calls at once, then an optional bounded queue
/// with a maximum wait, then [`Rejected::Full`].
///
/// A slot is held by a [`BulkheadPermit`] and given back when it is dropped:
/// when the call finishes, panics, or (async) is cancelled. A waiting caller
/// leaves the queue when its wait ends or its future is dropped. The queue
/// is not strictly first-come first-served: a newcomer can take a slot that
/// was just freed.
///
/// # Examples
///
/// ```
/// use std::io;
/// use mend::Rejected;
/// use mend::limit::Bulkhead;
///
/// let bulkhead = Bulkhead::builder("thumbnails").max_concurrent(1).build()?;
/// let held = bulkhead.try_acquire()?;
/// assert_eq!(bulkhead.try_acquire().unwrap_err(), Rejected::Full);
/// drop(held);
/// assert_eq!(bulkhead.call(|| Ok::<_, io::Error>(1)).ok(), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Bulkhead<C = SystemClock> {
    reporter: Reporter,
    max_concurrent: usize,
    max_queue: usize,
    max_wait: Duration,
    /// Calls in flight and admissions ever.
    slots: Slots,
    queued: AtomicUsize,
    /// Refusals, per thread (a bulkhead refusing under load is a hot path
    /// too).
    rejected: Tally<1>,
    /// Callers that ever joined the queue.
    ever_queued: AtomicU64,
    lock: Mutex<()>,
    wake_sync: Condvar,
    #[cfg(feature = "tokio")]
    wake_async: tokio::sync::Notify,
    clock: C,
}

/// One slot of a [`Bulkhead`], given back on drop.
#[must_use = "the slot is given back as soon as the permit is dropped"]
pub struct BulkheadPermit<'a, C = SystemClock> {
    bulkhead: &'a Bulkhead<C>,
}

/// One slot of a [`Bulkhead`] held by `Arc`, given back on drop: `'static`,
/// so it can travel with a call into a spawned task or a boxed future.
#[must_use = "the slot is given back as soon as the permit is dropped"]
pub struct OwnedBulkheadPermit<C = SystemClock> {
    bulkhead: Arc<Bulkhead<C>>,
}

impl<C> OwnedBulkheadPermit<C> {
    /// The bulkhead this slot belongs to.
    pub fn bulkhead(&self) -> &Arc<Bulkhead<C>> {
        &self.bulkhead
    }
}

/// A place in the queue, left on drop.
struct Queued<'a, C>(&'a Bulkhead<C>);

impl<C> Drop for Queued<'_, C> {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, SeqCst);
    }
}

impl<C> Drop for BulkheadPermit<'_, C> {
    #[inline]
    fn drop(&mut self) {
        self.bulkhead.release();
    }
}

impl<C> Drop for OwnedBulkheadPermit<C> {
    #[inline]
    fn drop(&mut self) {
        self.bulkhead.release();
    }
}

impl Bulkhead {
    /// Starts building a bulkhead called `name`.
    pub fn builder(name: &str) -> BulkheadBuilder {
        BulkheadBuilder::new(name)
    }
}

impl<C: Clock> Bulkhead<C> {
    /// Takes a slot if one is free, without waiting.
    ///
    /// # Errors
    ///
    /// [`Rejected::Full`] when every slot is taken.
    #[inline]
    pub fn try_acquire(&self) -> Result<BulkheadPermit<'_, C>, Rejected> {
        if !self.take_slot() {
            return Err(self.refused(Rejected::Full));
        }
        Ok(BulkheadPermit { bulkhead: self })
    }

    /// Takes a slot if one is free, without waiting, in a permit that keeps
    /// the bulkhead alive.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    #[inline]
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedBulkheadPermit<C>, Rejected> {
        if !self.take_slot() {
            return Err(self.refused(Rejected::Full));
        }
        Ok(OwnedBulkheadPermit { bulkhead: self })
    }

    /// Takes a slot, waiting as [`acquire`](Self::acquire) does, in a permit
    /// that keeps the bulkhead alive.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    pub fn acquire_owned(self: Arc<Self>) -> Result<OwnedBulkheadPermit<C>, Rejected> {
        self.wait_for_slot().map_err(|full| self.refused(full))?;
        Ok(OwnedBulkheadPermit { bulkhead: self })
    }

    /// One slot taken (true), or none free. Inline and returning a flag,
    /// so the answer stays in a register.
    #[inline(always)]
    fn take_slot(&self) -> bool {
        let taken = self.slots.try_take(self.max_concurrent);
        if taken {
            self.reporter.admitted(&self.clock, || self.rejected.get(0));
        }
        taken
    }

    /// Counts a refusal given to a caller.
    #[cold]
    fn refused(&self, full: Rejected) -> Rejected {
        self.rejected.add(0);
        self.reporter.refused(&self.clock, || self.rejected.get(0));
        full
    }

    fn join_queue(&self) -> Result<Queued<'_, C>, Rejected> {
        let mut n = self.queued.load(SeqCst);
        while n < self.max_queue {
            match self.queued.compare_exchange_weak(n, n + 1, SeqCst, SeqCst) {
                Ok(_) => {
                    self.ever_queued.fetch_add(1, Relaxed);
                    return Ok(Queued(self));
                }
                Err(now) => n = now,
            }
        }
        Err(Rejected::Full)
    }

    /// Takes a slot, waiting in the queue (blocking the thread) for at most
    /// the maximum wait if there is a queue.
    ///
    /// # Errors
    ///
    /// [`Rejected::Full`] when no slot is free and the queue is full or the
    /// wait ran out.
    pub fn acquire(&self) -> Result<BulkheadPermit<'_, C>, Rejected> {
        self.wait_for_slot().map_err(|full| self.refused(full))?;
        Ok(BulkheadPermit { bulkhead: self })
    }

    /// One slot taken, waiting in the queue if there is one.
    fn wait_for_slot(&self) -> Result<(), Rejected> {
        if self.take_slot() {
            return Ok(());
        }
        let _queued = self.join_queue()?;
        let deadline = self.clock.precise() + self.max_wait;
        let mut guard = self.lock.lock();
        loop {
            if self.take_slot() {
                return Ok(());
            }
            let left = deadline - self.clock.precise();
            if left.is_zero() {
                return Err(Rejected::Full);
            }
            self.wake_sync.wait_for(&mut guard, left);
        }
    }

    /// Runs `f` in a slot, waiting for one as [`acquire`](Self::acquire) does.
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] when no slot came (`f` did not run),
    /// [`Error::Inner`] with `f`'s own error otherwise.
    pub fn call<T, E, F>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Result<T, E>,
    {
        let _permit = self.acquire()?;
        f().map_err(Error::Inner)
    }

    /// Calls running now.
    pub fn in_flight(&self) -> usize {
        self.slots.in_flight()
    }

    /// Callers waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.queued.load(SeqCst)
    }

    /// What the bulkhead has counted, and its gauges now (a read that
    /// changes nothing).
    pub fn counters(&self) -> BulkheadCounters {
        BulkheadCounters {
            admitted: self.slots.admitted(),
            rejected: self.rejected.get(0),
            queued: self.ever_queued.load(Relaxed),
            in_flight: self.slots.in_flight() as u64,
            waiting: self.queued.load(SeqCst) as u64,
        }
    }

    /// Its name, kind, subscribers and episodes.
    #[cfg(feature = "metrics")]
    pub(crate) fn reporter(&self) -> &super::episode::Reporter {
        &self.reporter
    }

    /// The bulkhead's name.
    pub fn name(&self) -> &str {
        &self.reporter.name
    }
}

impl<C> Bulkhead<C> {
    /// Gives a slot back, waking a waiter if there is one.
    #[inline]
    fn release(&self) {
        self.slots.release();
        if self.queued.load(SeqCst) > 0 {
            self.wake();
        }
    }

    #[cold]
    fn wake(&self) {
        {
            let _guard = self.lock.lock();
            self.wake_sync.notify_one();
        }
        #[cfg(feature = "tokio")]
        self.wake_async.notify_one();
    }
}

#[cfg(feature = "tokio")]
impl<C: Clock> Bulkhead<C> {
    /// Takes a slot, waiting in the queue (on tokio's timer) for at most the
    /// maximum wait if there is a queue. Dropping the future leaves the
    /// queue.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    pub async fn acquire_async(&self) -> Result<BulkheadPermit<'_, C>, Rejected> {
        self.wait_for_slot_async()
            .await
            .map_err(|full| self.refused(full))?;
        Ok(BulkheadPermit { bulkhead: self })
    }

    /// One slot taken, waiting in the queue if there is one. The slot is
    /// taken in the same poll that returns it, so a dropped future never
    /// leaves one taken.
    async fn wait_for_slot_async(&self) -> Result<(), Rejected> {
        if self.take_slot() {
            return Ok(());
        }
        let _queued = self.join_queue()?;
        let wait = async {
            loop {
                let notified = self.wake_async.notified();
                let mut notified = std::pin::pin!(notified);
                notified.as_mut().enable();
                if self.take_slot() {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(self.max_wait, wait)
            .await
            .map_err(|_| Rejected::Full)
    }

    /// Takes a slot as [`acquire_async`](Self::acquire_async) does, in a
    /// permit that keeps the bulkhead alive.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    pub async fn acquire_async_owned(self: Arc<Self>) -> Result<OwnedBulkheadPermit<C>, Rejected> {
        self.wait_for_slot_async()
            .await
            .map_err(|full| self.refused(full))?;
        Ok(OwnedBulkheadPermit { bulkhead: self })
    }

    /// Runs the future `f` makes in a slot, waiting for one as
    /// [`acquire_async`](Self::acquire_async) does. The slot is given back
    /// when the call ends or its future is dropped.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn call_async<T, E, F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let _permit = self.acquire_async().await?;
        f().await.map_err(Error::Inner)
    }
}

impl<C> fmt::Debug for Bulkhead<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bulkhead")
            .field("name", &self.reporter.name)
            .field("max_concurrent", &self.max_concurrent)
            .field("in_flight", &self.slots.in_flight())
            .field("queued", &self.queued.load(SeqCst))
            .finish_non_exhaustive()
    }
}

impl<C> fmt::Debug for BulkheadPermit<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkheadPermit")
            .field("bulkhead", &self.bulkhead.reporter.name)
            .finish()
    }
}

impl<C> fmt::Debug for OwnedBulkheadPermit<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedBulkheadPermit")
            .field("bulkhead", &self.bulkhead.reporter.name)
            .finish()
    }
}
