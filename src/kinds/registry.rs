//! The `kinds!` macro: from one line per kind it declares the kind's
//! module and generates every type and dispatch the shared machinery uses.
//! Each dispatch matches every kind by name, so nothing here can forget one.

/// `Variant = "name" => module::Type`, one line per kind, in the order the
/// kinds are listed everywhere (`check = "..."` errors, metric families).
macro_rules! kinds {
    ($( $variant:ident = $name:literal => $module:ident :: $ty:ident ),+ $(,)?) => {
        $( pub mod $module; )+

        $crate::text::named_enum! {
        /// The kind of check, as written in `check = "..."`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum KindId {
            $( $variant = $name ),+
        }
        }

        impl KindId {
            /// Whether the kind's probe connects over TCP (`Kind::CONNECTS`).
            pub(crate) fn connects(self) -> bool {
                match self {
                    $( KindId::$variant => <$module::$ty as Kind>::CONNECTS ),+
                }
            }

            /// The phase this kind's protocol is timed as, after `connect`.
            pub(crate) fn phase(self) -> Option<$crate::probe::Phase> {
                match self {
                    $( KindId::$variant => <$module::$ty as Kind>::PHASE ),+
                }
            }
        }

        /// A flow's check with its validated settings.
        #[derive(Debug, Clone, PartialEq)]
        pub enum KindSpec {
            $( $variant(Box<<$module::$ty as Kind>::Spec>) ),+
        }

        impl KindSpec {
            pub fn kind(&self) -> KindId {
                match self {
                    $( KindSpec::$variant(_) => KindId::$variant ),+
                }
            }

            /// The settings, when the flow is of kind `K`.
            pub fn get<K: Registered>(&self) -> Option<&K::Spec> {
                K::spec(self)
            }

            /// The trust stores the flow judges certificates against.
            pub(crate) fn trust(&self) -> Option<&[String]> {
                match self {
                    $( KindSpec::$variant(s) => <$module::$ty as Kind>::trust(s) ),+
                }
            }

            /// Whether the flow leaves its chains for others to read.
            pub(crate) fn captures_chains(&self) -> bool {
                match self {
                    $( KindSpec::$variant(s) => <$module::$ty as Kind>::captures_chains(s) ),+
                }
            }

            /// The flow whose captured chain this flow reads.
            pub(crate) fn source_flow(&self) -> Option<&str> {
                match self {
                    $( KindSpec::$variant(s) => <$module::$ty as Kind>::from_flow(s) ),+
                }
            }

            /// The source flow and trust settings, for linking.
            pub(crate) fn chain_source(&mut self) -> Option<ChainSource<'_>> {
                match self {
                    $( KindSpec::$variant(s) => <$module::$ty as Kind>::chain_source(s) ),+
                }
            }

            /// The check's own table for `config show`: `(key, table)`.
            pub fn to_toml(&self) -> Option<(&'static str, toml::Table)> {
                match self {
                    $( KindSpec::$variant(s) => <$module::$ty as Kind>::table(s).map(|t| ($name, t)) ),+
                }
            }

            /// Validate `check` and the table of that kind; tables of other
            /// kinds are errors, so a typo'd kind does not silently drop
            /// settings.
            pub(crate) fn validate(
                raw: &RawFlow,
                key: &str,
                ctx: &FlowCtx,
                errs: &mut Collector,
            ) -> Option<KindSpec> {
                let name = raw.check.as_deref().unwrap_or("tcp");
                let Some(kind) = KindId::parse(name) else {
                    errs.push(
                        format!("{key}.check"),
                        format!("{name:?}: {}", KindId::expected()),
                    );
                    return None;
                };
                for table in raw.tables.keys() {
                    if table != kind.as_str() {
                        errs.push(
                            format!("{key}.{table}"),
                            format!("settings for check \"{table}\" on a \"{name}\" flow"),
                        );
                    }
                }
                match kind {
                    $( KindId::$variant => <$module::$ty as Kind>::validate(
                        raw.tables.get($name), raw, key, ctx, errs,
                    ).map(|s| KindSpec::$variant(Box::new(s))) ),+
                }
            }
        }

        /// Typed access to one kind's settings, facts and errors.
        pub trait Registered: Kind {
            fn spec(c: &KindSpec) -> Option<&Self::Spec>;
            fn facts(d: &KindFacts) -> Option<&Self::Facts>;
            fn error(c: &KindCause) -> Option<&Self::Error>;
            /// The kind's error as an attempt's cause.
            fn cause(e: Self::Error) -> $crate::probe::Cause;
        }

        $(
        impl Registered for $module::$ty {
            fn spec(c: &KindSpec) -> Option<&Self::Spec> {
                if let KindSpec::$variant(s) = c { Some(s) } else { None }
            }
            fn facts(d: &KindFacts) -> Option<&Self::Facts> {
                if let KindFacts::$variant(f) = d { Some(f) } else { None }
            }
            #[allow(irrefutable_let_patterns, unreachable_patterns)]
            fn error(c: &KindCause) -> Option<&Self::Error> {
                if let KindCause::$variant(e) = c { Some(e) } else { None }
            }
            fn cause(e: Self::Error) -> $crate::probe::Cause {
                $crate::probe::Cause::Kind(KindCause::$variant(e))
            }
        }
        )+

        /// Why a kind's own protocol failed (`Kind::Error`), by kind;
        /// serialized with the kind's name as the cause's `stage`
        /// (`"stage": "tls"`) next to the error's own fields.
        #[derive(Debug, Clone, Serialize)]
        #[serde(tag = "stage")]
        pub enum KindCause {
            $( #[serde(rename = $name)] $variant(<$module::$ty as Kind>::Error) ),+
        }

        /// What one probe of one address found, by kind; serialized with a
        /// `kind` tag (`"kind": "tls"`) next to the kind's own fields.
        #[derive(Debug, Clone, Default, Serialize)]
        #[serde(tag = "kind")]
        pub enum KindFacts {
            /// Nothing beyond the reason and detail (a port check, a probe
            /// that failed before its protocol started).
            #[default]
            #[serde(rename = "none")]
            None,
            $( #[serde(rename = $name)] $variant(Box<<$module::$ty as Kind>::Facts>) ),+
        }

        impl KindFacts {
            pub(crate) fn is_none(&self) -> bool {
                matches!(self, KindFacts::None)
            }

            /// The facts, when they are of kind `K`.
            pub fn get<K: Registered>(&self) -> Option<&K::Facts> {
                K::facts(self)
            }

            /// Lines for `flowprobe check` under the flow's row.
            pub fn text_lines(&self, out: &mut Vec<String>) {
                match self {
                    KindFacts::None => {}
                    $( KindFacts::$variant(f) => <$module::$ty as Kind>::text_lines(f, out) ),+
                }
            }

            /// The flow page's section for these facts.
            pub(crate) fn page_section(&self, now: i64) -> Option<maud::Markup> {
                match self {
                    KindFacts::None => None,
                    $( KindFacts::$variant(f) => Some(<$module::$ty as Kind>::page_section(f, now)) ),+
                }
            }
        }

        /// A flow's prepared state, by kind.
        #[derive(Debug)]
        pub(crate) enum KindState {
            $( $variant(Box<<$module::$ty as Kind>::State>) ),+
        }

        impl KindState {
            /// Build what the flow's check needs once.
            pub(crate) fn prepare(
                flow: &Flow,
                stores: &Stores,
                board: &Arc<ChainBoard>,
            ) -> Result<Self, String> {
                match &flow.check {
                    $( KindSpec::$variant(s) => <$module::$ty as Kind>::prepare(flow, s, stores, board)
                        .map(|st| KindState::$variant(Box::new(st))) ),+
                }
            }

            /// Probe one address. Every kind's future is boxed: inline,
            /// every probe would carry (and copy) the largest kind's state
            /// machine, tens of kilobytes.
            pub(crate) async fn probe(&self, ctx: &Ctx<'_>, addr: SocketAddr) -> ProbeResult {
                match self {
                    $( KindState::$variant(s) => Box::pin(<$module::$ty as Kind>::probe(ctx, addr, s)).await ),+
                }
            }

            /// Probe one address of a flow that must be closed: whether
            /// the kind's service answers there at all.
            pub(crate) async fn probe_forbidden(&self, ctx: &Ctx<'_>, addr: SocketAddr) -> ProbeResult {
                match self {
                    $( KindState::$variant(s) => Box::pin(<$module::$ty as Kind>::probe_forbidden(ctx, addr, s)).await ),+
                }
            }

            /// Fingerprints of the anchors behind the state.
            pub(crate) fn anchors(&self) -> Vec<[u8; 32]> {
                match self {
                    $( KindState::$variant(s) => <$module::$ty as Kind>::anchors(s) ),+
                }
            }
        }

        /// Every kind's series vectors, registered once per process.
        pub(crate) struct KindVecs {
            $( $module: <<$module::$ty as Kind>::Series as FixedSeries<<$module::$ty as Kind>::Spec>>::Vecs, )+
        }

        impl KindVecs {
            pub(crate) fn register(r: &prometheus::Registry) -> prometheus::Result<Self> {
                Ok(KindVecs {
                    $( $module: <<$module::$ty as Kind>::Series as FixedSeries<<$module::$ty as Kind>::Spec>>::register(r)?, )+
                })
            }
        }

        /// Every kind's families of probe-labelled series, in list order.
        pub(crate) fn families() -> Vec<&'static FamilySpec> {
            let mut out = Vec::new();
            $( out.extend_from_slice(<$module::$ty as Kind>::FAMILIES); )+
            out
        }

        /// A flow's handles into its kind's series.
        pub(crate) enum FlowSeries {
            $( $variant(Option<<$module::$ty as Kind>::Series>) ),+
        }

        impl FlowSeries {
            pub(crate) fn new(vecs: &KindVecs, flow: &Flow) -> Self {
                match &flow.check {
                    $( KindSpec::$variant(s) => FlowSeries::$variant(
                        FixedSeries::new(&vecs.$module, flow, s.as_ref()),
                    ) ),+
                }
            }

            /// Remove the flow's series except those its successor shares.
            pub(crate) fn remove(
                &self,
                vecs: &KindVecs,
                rec: &KindRecorder<'_>,
                successor: Option<&FlowSeries>,
            ) {
                match self {
                    $( FlowSeries::$variant(Some(s)) => {
                        let next = if let Some(FlowSeries::$variant(n)) = successor {
                            n.as_ref()
                        } else {
                            None
                        };
                        FixedSeries::<<$module::$ty as Kind>::Spec>::remove(s, &vecs.$module, rec, next);
                    }
                    FlowSeries::$variant(None) => {} ),+
                }
            }

            /// Record a probe on the flow's series.
            pub(crate) fn record(&self, rec: &KindRecorder<'_>, report: &ProbeReport) {
                match self {
                    $( FlowSeries::$variant(s) => <$module::$ty as Kind>::record(rec, s.as_ref(), report) ),+
                }
            }
        }
    };
}
