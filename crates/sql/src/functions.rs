//! The detectors' building blocks as SQL scalar functions: thin adapters from Arrow string arrays to
//! the engine-free functions of `tracehound-query`.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Float64Array, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

/// Every function, for registration.
pub(crate) fn all() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(TextFn::new(
            "instruction_score",
            Output::Score(|t| tracehound_query::instruction_score(t).score),
        )),
        ScalarUDF::from(TextFn::new(
            "instruction_cues",
            Output::List(|t| {
                let mut cues: Vec<String> = Vec::new();
                for c in tracehound_query::instruction_score(t).cues {
                    if !cues.iter().any(|x| x == c.cue) {
                        cues.push(c.cue.to_string());
                    }
                }
                cues
            }),
        )),
        ScalarUDF::from(TextFn::new(
            "hosts",
            Output::List(tracehound_query::hosts_in),
        )),
        ScalarUDF::from(TextFn::new(
            "arg_values",
            Output::List(|t| {
                tracehound_query::argument_values(t)
                    .into_iter()
                    .map(|v| v.value)
                    .collect()
            }),
        )),
        ScalarUDF::from(TextFn::new(
            "secret_kinds",
            Output::List(|t| {
                tracehound_query::find_secrets(t)
                    .into_iter()
                    .map(|m| format!("{}:{}", m.kind, m.fingerprint))
                    .collect()
            }),
        )),
        ScalarUDF::from(TextFn::new(
            "redact",
            Output::Text(|t| tracehound_query::redact_secrets(t, false)),
        )),
    ]
}

/// What a function computes from one text.
#[derive(Clone, Copy)]
enum Output {
    Score(fn(&str) -> f64),
    List(fn(&str) -> Vec<String>),
    Text(fn(&str) -> String),
}

/// A function of one text argument (any string type; NULL in, NULL out).
struct TextFn {
    name: &'static str,
    signature: Signature,
    output: Output,
}

impl std::fmt::Debug for TextFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextFn").field("name", &self.name).finish()
    }
}

impl PartialEq for TextFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TextFn {}

impl std::hash::Hash for TextFn {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl TextFn {
    fn new(name: &'static str, output: Output) -> TextFn {
        let types = [DataType::Utf8, DataType::LargeUtf8, DataType::Utf8View];
        TextFn {
            name,
            signature: Signature::new(
                TypeSignature::OneOf(
                    types
                        .into_iter()
                        .map(|t| TypeSignature::Exact(vec![t]))
                        .collect(),
                ),
                Volatility::Immutable,
            ),
            output,
        }
    }
}

fn list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

impl ScalarUDFImpl for TextFn {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.output {
            Output::Score(_) => DataType::Float64,
            Output::List(_) => list_type(),
            Output::Text(_) => DataType::Utf8,
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("{} takes one argument", self.name);
        };
        let rows = args.number_rows;
        let array = arg.to_array(rows)?;
        let array = cast(&array, &DataType::Utf8)?;
        let Some(text) = array.as_any().downcast_ref::<StringArray>() else {
            return exec_err!("{} expects text", self.name);
        };
        let out: ArrayRef = match self.output {
            Output::Score(f) => Arc::new(Float64Array::from_iter(text.iter().map(|t| t.map(f)))),
            Output::Text(f) => Arc::new(StringArray::from_iter(text.iter().map(|t| t.map(f)))),
            Output::List(f) => {
                let mut b = ListBuilder::new(StringBuilder::new());
                for t in text.iter() {
                    match t {
                        Some(t) => {
                            for v in f(t) {
                                b.values().append_value(v);
                            }
                            b.append(true);
                        }
                        None => b.append(false),
                    }
                }
                Arc::new(b.finish())
            }
        };
        // A scalar argument gives a scalar result.
        if matches!(arg, ColumnarValue::Scalar(_)) {
            return Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::try_from_array(&out, 0)?,
            ));
        }
        Ok(ColumnarValue::Array(out))
    }
}
