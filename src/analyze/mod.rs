//! Pure analysis: judgements over captured facts, no I/O.
