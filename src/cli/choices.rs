//! The library's choices as command-line values: the names and the help of each, here in the
//! command line's layer, so that no library type depends on clap. The names are those of the
//! configuration file (serde's snake_case).

use crate::config::OutputFormat;
use crate::engine::Engines;
use crate::fleet::inventory::InventoryFormat;
use clap::builder::PossibleValue;
use clap::ValueEnum;

/// `impl ValueEnum` for a library enum: each variant with its name and help.
macro_rules! choices {
    ($type:ty { $($variant:ident => $name:literal, $help:literal;)* }) => {
        impl ValueEnum for $type {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(<$type>::$variant),*]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $(<$type>::$variant => PossibleValue::new($name).help($help),)*
                })
            }
        }
    };
}

choices!(Engines {
    Tough => "tough", "tough, as Bottlerocket hosts run it, with tufwatch's own checks";
    Both => "both", "tough, then the strict engine on the same bytes; both must accept, and a disagreement is a finding";
    Strict => "strict", "The strict engine alone (the specification's client workflow); tough does not run. tufwatch's own checks (signatures by key, expiry, the saved state) still apply";
});

choices!(OutputFormat {
    Human => "human", "Aligned text for a terminal (a job's report.txt)";
    Json => "json", "The whole report as one JSON document, fields in docs/report.md (a job's report.json)";
    Markdown => "markdown", "Markdown tables for a chat message or a CI step summary (a job's report.md)";
    Prometheus => "prometheus", "A Prometheus textfile (a job's tufwatch.prom)";
    Html => "html", "One self-contained HTML page with charts, for people (a job's report.html)";
});

choices!(InventoryFormat {
    Kubectl => "kubectl", "The JSON of `kubectl get nodes -o json`";
    Ec2 => "ec2", "The JSON of `aws ec2 describe-instances`";
    Csv => "csv", "CSV: name,variant,arch,version";
});

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line and the configuration file name each choice the same.
    #[test]
    fn names_are_the_configuration_files() {
        fn same<T: ValueEnum + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>() {
            for v in T::value_variants() {
                let name = v.to_possible_value().unwrap().get_name().to_owned();
                let parsed: T = serde_json::from_value(serde_json::Value::String(name)).unwrap();
                assert_eq!(&parsed, v);
            }
        }
        same::<Engines>();
        same::<OutputFormat>();
        same::<InventoryFormat>();
    }
}
