//! nrnn
