//! Hand-written, bounded parsers and encoders of the protocols the probes
//! speak below any crate: no I/O policy here beyond reading a stream with
//! limits, so `analyze` can depend on the types and fuzz targets reach them
//! without a network.

pub mod ssh;
pub mod tls;
