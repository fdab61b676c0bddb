//! [`Stack`]: policies in a tuple, outermost first, run one inside the next.

use std::future::Future;

use super::{AsyncPolicy, Policy, SendAsyncPolicy};
use crate::error::Error;

/// Policies run one inside the next, outermost first: `Stack<(A, B, C)>`
/// runs a call through `A`, then `B`, then `C`. Made by [`stack`] and
/// [`then`](Stack::then), or [`Stack::new`] from a tuple of up to eight
/// layers.
///
/// A stack is a policy itself ([`Policy`], [`AsyncPolicy`],
/// [`SendAsyncPolicy`]) when all its layers are; its async futures own
/// clones of the layers, so layers are handles: `&'a Gate` or `Arc<Gate>`.
/// [`call`](Stack::call) and [`call_async`](Stack::call_async) take an
/// operation returning its own `Result<T, E>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stack<L> {
    layers: L,
}

/// Starts a stack whose outermost layer is `outer`.
pub fn stack<O>(outer: O) -> Stack<(O,)> {
    Stack { layers: (outer,) }
}

impl<L> Stack<L> {
    /// A stack of `layers`, a tuple listed outermost first.
    pub fn new(layers: L) -> Self {
        Stack { layers }
    }

    /// The layers, outermost first.
    pub fn layers(&self) -> &L {
        &self.layers
    }

    /// Runs `f` through every layer.
    ///
    /// # Errors
    ///
    /// `f`'s own error as [`Error::Inner`], or the refusal or timeout of
    /// the layer that stopped it.
    #[inline]
    pub fn call<T, E, F>(&self, f: F) -> Result<T, Error<E>>
    where
        Self: Policy<T, E>,
        F: FnOnce() -> Result<T, E>,
    {
        self.run(|| f().map_err(Error::Inner))
    }

    /// Runs the future `f` makes through every layer. The future owns
    /// clones of the layers, so it is `'static` when they and `f` are.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    #[inline]
    pub fn call_async<T, E, F, Fut>(
        &self,
        f: F,
    ) -> impl Future<Output = Result<T, Error<E>>> + use<L, T, E, F, Fut>
    where
        Self: AsyncPolicy<T, E>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run_async(|| async move { f().await.map_err(Error::Inner) })
    }
}

/// Runs `$f` through the layers of the tuple `$l` at `$i`, outermost first.
macro_rules! nest_sync {
    ($l:expr; $f:ident; $i:tt) => { $l.$i.run($f) };
    ($l:expr; $f:ident; $i:tt, $($rest:tt),+) => { $l.$i.run(|| nest_sync!($l; $f; $($rest),+)) };
}

/// Runs `$f` through owned layers, each closure moving the inner ones in.
macro_rules! nest_async {
    ($run:ident; $f:ident; $last:ident) => { $last.$run($f) };
    ($run:ident; $f:ident; $head:ident, $($rest:ident),+) => {
        $head.$run(move || nest_async!($run; $f; $($rest),+))
    };
}

macro_rules! stack_impls {
    ($($L:ident . $i:tt),+ ; next $N:ident) => {
        stack_impls!($($L . $i),+);

        impl<$($L),+> Stack<($($L,)+)> {
            /// Adds `next` inside every layer so far.
            #[allow(non_snake_case)]
            pub fn then<$N>(self, next: $N) -> Stack<($($L,)+ $N,)> {
                let ($($L,)+) = self.layers;
                Stack { layers: ($($L,)+ next,) }
            }
        }
    };
    ($($L:ident . $i:tt),+) => {
        impl<T, E, $($L: Policy<T, E>),+> Policy<T, E> for Stack<($($L,)+)> {
            #[inline]
            fn run<F: FnOnce() -> Result<T, Error<E>>>(&self, f: F) -> Result<T, Error<E>> {
                nest_sync!(self.layers; f; $($i),+)
            }
        }

        impl<T, E, $($L: AsyncPolicy<T, E> + Clone),+> AsyncPolicy<T, E> for Stack<($($L,)+)> {
            #[inline]
            #[allow(non_snake_case)]
            fn run_async<F, Fut>(
                &self,
                f: F,
            ) -> impl Future<Output = Result<T, Error<E>>> + use<T, E, F, Fut, $($L),+>
            where
                F: FnOnce() -> Fut,
                Fut: Future<Output = Result<T, Error<E>>>,
            {
                let ($($L,)+) = self.layers.clone();
                nest_async!(run_async; f; $($L),+)
            }
        }

        impl<T: Send, E: Send, $($L: SendAsyncPolicy<T, E> + Clone),+> SendAsyncPolicy<T, E>
            for Stack<($($L,)+)>
        {
            #[inline]
            #[allow(non_snake_case)]
            fn run_send<F, Fut>(
                &self,
                f: F,
            ) -> impl Future<Output = Result<T, Error<E>>> + Send + use<T, E, F, Fut, $($L),+>
            where
                F: FnOnce() -> Fut + Send,
                Fut: Future<Output = Result<T, Error<E>>> + Send,
            {
                let ($($L,)+) = self.layers.clone();
                nest_async!(run_send; f; $($L),+)
            }
        }
    };
}

stack_impls!(A.0; next B);
stack_impls!(A.0, B.1; next C);
stack_impls!(A.0, B.1, C.2; next D);
stack_impls!(A.0, B.1, C.2, D.3; next G);
stack_impls!(A.0, B.1, C.2, D.3, G.4; next H);
stack_impls!(A.0, B.1, C.2, D.3, G.4, H.5; next I);
stack_impls!(A.0, B.1, C.2, D.3, G.4, H.5, I.6; next J);
stack_impls!(A.0, B.1, C.2, D.3, G.4, H.5, I.6, J.7);
