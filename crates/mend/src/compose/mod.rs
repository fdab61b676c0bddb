//! Stacking policies in an explicit order, sync and async, with one flat
//! error and no boxing.
//!
//! Every gate (breaker, rate limiter, bulkhead, timeout) implements
//! [`Policy`] (sync) and/or [`AsyncPolicy`] and [`SendAsyncPolicy`]: it
//! runs an operation that already returns [`Error<E>`] and returns the same
//! type, so layers stack without nesting their errors. A [`Stack`] lists
//! its layers outermost first, in a tuple, so its type can be written down
//! and kept in a struct field; it is itself a policy, with static dispatch
//! all the way down, and [`Stack::call`] / [`Stack::call_async`] take the
//! operation's own `Result<T, E>`. [`Retry`] goes around the whole stack
//! ([`Retry::call_through`], [`Retry::call_through_async`]) because it is
//! the one layer that calls its operation more than once.
//!
//! # Borrowed or owned
//!
//! A layer is a handle to a policy: `&'a Gate` borrows it, `Arc<Gate>`
//! shares it. Async futures hold the handle, never a borrow of the stack,
//! so a stack of `Arc`s makes `'static` futures that can be spawned, and its
//! type is plain to name:
//!
//! ```
//! use std::sync::Arc;
//! use mend::breaker::CircuitBreaker;
//! use mend::compose::Stack;
//! use mend::limit::{Bulkhead, Timeout};
//!
//! struct CatalogClient {
//!     policies: Stack<(Arc<CircuitBreaker>, Arc<Bulkhead>, Arc<Timeout>)>,
//! }
//! ```
//!
//! Generic async code names [`SendAsyncPolicy`] when it needs the future to
//! be `Send` (to spawn it on a multi-threaded runtime): Rust cannot yet
//! require `Send` of the future an [`AsyncPolicy`] returns, so the `Send`
//! form is a trait of its own, implemented by every policy wherever its
//! future is `Send`.
//!
//! A [`Timeout`] only implements the async traits: sync code cannot be
//! interrupted, so a sync stack with a timeout does not compile.
//!
//! # The recommended order, outermost first
//!
//! 1. **Retry** (with its budget and deadline). Outermost, so that each
//!    attempt goes through every gate again, the deadline bounds the whole
//!    operation, and the budget caps the extra load. It retries
//!    [`Rejected`](crate::Rejected) and (unless its classifier is
//!    [`non_idempotent`](crate::classify::non_idempotent))
//!    [`Elapsed`](crate::Elapsed) from the inner layers, never before the
//!    wait a rejection carries.
//! 2. **Circuit breaker.** Inside the retry, so every attempt is recorded
//!    and an open breaker answers each attempt at once with the time it
//!    will stay open (which the retry honours). Outside the limits, so an
//!    open breaker sheds load without spending quota or taking slots. It
//!    records an inner timeout as a failure (a hanging dependency is a
//!    failing one) and an inner rejection as ignored (the dependency was
//!    not called, so it says nothing about its health).
//! 3. **Rate limiter.** Outside the bulkhead, so a call over quota is
//!    refused at once rather than after waiting for a slot.
//! 4. **Bulkhead.** Outside the timeout, so the time spent waiting for a
//!    slot (bounded by its own `max_wait`) is not taken from the call's own
//!    time, and a call holds its slot at most as long as the timeout allows.
//! 5. **Timeout**, around the call itself.
//!
//! # Examples
//!
//! ```
//! use std::{io, sync::Arc, time::Duration};
//! use mend::breaker::CircuitBreaker;
//! use mend::compose::stack;
//! use mend::limit::{Bulkhead, Timeout};
//! use mend::retry::Retry;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let retry = Retry::builder("catalog").max_attempts(3).build()?;
//! let breaker = Arc::new(CircuitBreaker::builder("catalog").build()?);
//! let bulkhead = Arc::new(Bulkhead::builder("catalog").max_concurrent(16).build()?);
//! let timeout = Arc::new(Timeout::builder("timeout", Duration::from_millis(250)).build()?);
//!
//! let policies = stack(breaker).then(bulkhead).then(timeout);
//! // One call through the stack:
//! let item = policies.call_async(|| async { Ok::<_, io::Error>("lamp") }).await?;
//! // Or retried, every attempt through the whole stack:
//! let item = retry
//!     .call_through_async(&policies, || async { Ok::<_, io::Error>(item) })
//!     .await?;
//! assert_eq!(item, "lamp");
//! // The stack's futures are 'static: spawn them.
//! let spawned = tokio::spawn({
//!     let policies = policies.clone();
//!     async move { policies.call_async(|| async { Ok::<_, io::Error>(7) }).await }
//! });
//! assert_eq!(spawned.await??, 7);
//! # Ok(())
//! # }
//! ```

mod gates;
mod retry;
mod stack;

use std::future::Future;
use std::sync::Arc;

use crate::error::Error;
#[cfg(doc)]
use crate::limit::Timeout;
#[cfg(doc)]
use crate::retry::Retry;

pub use stack::{Stack, stack};

/// A gate around a sync call whose result is already `Result<T, Error<E>>`.
pub trait Policy<T, E> {
    /// Runs `f` through this policy.
    ///
    /// # Errors
    ///
    /// `f`'s own error, or this policy's [`Rejected`](crate::Rejected) or
    /// [`Elapsed`](crate::Elapsed).
    fn run<F>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Result<T, Error<E>>;
}

/// A gate around an async call whose result is already `Result<T, Error<E>>`.
///
/// Implemented by handles to policies (`&'a Gate`, `Arc<Gate>`), whose
/// futures hold the handle itself: `'static` when the handle, the
/// operation and its future are. For a `Send` future under generic code,
/// see [`SendAsyncPolicy`].
pub trait AsyncPolicy<T, E> {
    /// Runs the future `f` makes through this policy.
    fn run_async<F, Fut>(
        &self,
        f: F,
    ) -> impl Future<Output = Result<T, Error<E>>> + use<Self, T, E, F, Fut>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>;
}

/// [`AsyncPolicy`] with a `Send` future: what generic code names to spawn
/// the call on a multi-threaded runtime.
///
/// # Examples
///
/// ```
/// use std::{io, sync::Arc};
/// use mend::Error;
/// use mend::breaker::CircuitBreaker;
/// use mend::compose::SendAsyncPolicy;
///
/// /// Fetches in the background through whatever policy it is given.
/// fn fetch_in_background<P>(policy: P) -> tokio::task::JoinHandle<Result<u32, Error<io::Error>>>
/// where
///     P: SendAsyncPolicy<u32, io::Error> + 'static,
/// {
///     tokio::spawn(policy.run_send(|| async { Ok(7) }))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let breaker = Arc::new(CircuitBreaker::builder("fetch").build()?);
/// assert_eq!(fetch_in_background(breaker).await??, 7);
/// # Ok(())
/// # }
/// ```
pub trait SendAsyncPolicy<T, E>: Send + Sync {
    /// Runs the future `f` makes through this policy, in a `Send` future.
    fn run_send<F, Fut>(
        &self,
        f: F,
    ) -> impl Future<Output = Result<T, Error<E>>> + Send + use<Self, T, E, F, Fut>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T, Error<E>>> + Send;
}

impl<T, E, P: Policy<T, E> + ?Sized> Policy<T, E> for &P {
    #[inline]
    fn run<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        (**self).run(f)
    }
}

impl<T, E, P: Policy<T, E> + ?Sized> Policy<T, E> for Arc<P> {
    #[inline]
    fn run<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
        (**self).run(f)
    }
}

/// Implements [`AsyncPolicy`] and [`SendAsyncPolicy`] for `&'a Gate` and
/// `Arc<Gate>`, from one function that runs a call through any handle to
/// the gate (`run(handle, f)`, its future owning the handle).
macro_rules! async_handles {
    (<$($p:ident),*> $gate:ty where [$($w:tt)*] via $run:path) => {
        impl<'a, T, E, $($p),*> $crate::compose::AsyncPolicy<T, E> for &'a $gate
        where
            $($w)*
        {
            #[inline]
            fn run_async<F, Fut>(
                &self,
                f: F,
            ) -> impl ::std::future::Future<Output = Result<T, $crate::Error<E>>>
                   + use<'a, T, E, F, Fut, $($p),*>
            where
                F: FnOnce() -> Fut,
                Fut: ::std::future::Future<Output = Result<T, $crate::Error<E>>>,
            {
                $run(*self, f)
            }
        }

        impl<T, E, $($p),*> $crate::compose::AsyncPolicy<T, E> for ::std::sync::Arc<$gate>
        where
            $($w)*
        {
            #[inline]
            fn run_async<F, Fut>(
                &self,
                f: F,
            ) -> impl ::std::future::Future<Output = Result<T, $crate::Error<E>>>
                   + use<T, E, F, Fut, $($p),*>
            where
                F: FnOnce() -> Fut,
                Fut: ::std::future::Future<Output = Result<T, $crate::Error<E>>>,
            {
                $run(::std::sync::Arc::clone(self), f)
            }
        }

        impl<'a, T: Send, E: Send, $($p),*> $crate::compose::SendAsyncPolicy<T, E> for &'a $gate
        where
            $($w)*
            $gate: Sync,
        {
            #[inline]
            fn run_send<F, Fut>(
                &self,
                f: F,
            ) -> impl ::std::future::Future<Output = Result<T, $crate::Error<E>>>
                   + Send
                   + use<'a, T, E, F, Fut, $($p),*>
            where
                F: FnOnce() -> Fut + Send,
                Fut: ::std::future::Future<Output = Result<T, $crate::Error<E>>> + Send,
            {
                $run(*self, f)
            }
        }

        impl<T: Send, E: Send, $($p),*> $crate::compose::SendAsyncPolicy<T, E>
            for ::std::sync::Arc<$gate>
        where
            $($w)*
            $gate: Send + Sync,
        {
            #[inline]
            fn run_send<F, Fut>(
                &self,
                f: F,
            ) -> impl ::std::future::Future<Output = Result<T, $crate::Error<E>>>
                   + Send
                   + use<T, E, F, Fut, $($p),*>
            where
                F: FnOnce() -> Fut + Send,
                Fut: ::std::future::Future<Output = Result<T, $crate::Error<E>>> + Send,
            {
                $run(::std::sync::Arc::clone(self), f)
            }
        }
    };
}
pub(crate) use async_handles;
