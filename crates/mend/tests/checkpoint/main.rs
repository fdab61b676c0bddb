//! Integration tests of `mend::checkpoint`, proving its guarantee four ways:
//! the order of file operations (`order`), injected faults (`faults`),
//! simulated power loss (`power`) and real SIGKILLs (`kill`); plus random
//! corruption (`corruption`) and the everyday behaviour (`basics`).

mod basics;
mod chain;
mod corruption;
mod faults;
mod full_disk;
mod kill;
mod kill_power;
mod lock;
mod memory;
mod order;
mod power;
mod read_only;
mod reopen;
mod sim;
mod stats;
mod support;
