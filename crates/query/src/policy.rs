//! The scan policy: thresholds and lists, from a TOML file. Every field has a default, so a scan
//! without a policy works, and a policy file need only say what it changes.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Score at or above which a tool output counts as instructing the model.
    pub instruction_threshold: f64,
    /// Tool calls in one session above which it is flagged.
    pub max_tool_calls_per_session: usize,
    /// Hosts tool arguments may name (suffix match: `example.com` allows `api.example.com`). Empty: the
    /// host check is off.
    pub allowed_hosts: Vec<String>,
    /// A session's tool error rate is flagged above `error_rate_factor` x the archive's rate, when it
    /// made at least `min_calls_for_error_rate` calls.
    pub error_rate_factor: f64,
    pub min_calls_for_error_rate: usize,
    /// Spend is flagged above `spend_factor` x the expected spend per session: `expected_spend_usd`
    /// for the agent (or model) when configured, else the archive's median for it.
    pub spend_factor: f64,
    pub expected_spend_usd: std::collections::BTreeMap<String, f64>,
    /// Tokens are flagged above `token_factor` x the archive's median session tokens.
    pub token_factor: f64,
    /// Tools each agent may call; an agent not listed may call any.
    pub allowed_tools: std::collections::BTreeMap<String, Vec<String>>,
    /// Tools that need a human approval before each call.
    pub sensitive_tools: Vec<String>,
    /// Shortest run of system-prompt text, in characters, that counts as a leak when found verbatim in
    /// assistant output or tool arguments.
    pub system_prompt_leak_chars: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            instruction_threshold: 0.6,
            max_tool_calls_per_session: 50,
            allowed_hosts: Vec::new(),
            error_rate_factor: 3.0,
            min_calls_for_error_rate: 5,
            spend_factor: 2.0,
            expected_spend_usd: Default::default(),
            token_factor: 10.0,
            allowed_tools: Default::default(),
            sensitive_tools: vec![
                "send_money".into(),
                "transfer".into(),
                "wire_transfer".into(),
                "pay".into(),
                "delete_file".into(),
                "run_shell".into(),
                "send_email".into(),
            ],
            system_prompt_leak_chars: 80,
        }
    }
}

/// Errors loading a policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("failed to read policy `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("policy `{path}` is not valid")]
    Parse {
        path: String,
        #[source]
        source: toml::de::Error,
    },
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| PolicyError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// The commented default policy `tracehound policy init` writes.
    pub fn default_toml() -> &'static str {
        DEFAULT_TOML
    }
}

const DEFAULT_TOML: &str = r#"# tracehound scan policy. Every setting is optional: what is left out keeps the default shown.

# Score (0 to 1) at or above which a tool output counts as instructing the model
# (detector tool_output_instructs_model). Lower finds more, with more false positives.
instruction_threshold = 0.6

# Flag a session that makes more tool calls than this (tool_calls_over_limit).
max_tool_calls_per_session = 50

# Hosts that tool arguments may name; suffix match. Empty turns the host check off.
# allowed_hosts = ["example.com", "internal.corp"]
allowed_hosts = []

# Flag a session whose tool error rate is above this factor x the archive's rate,
# once it made at least min_calls_for_error_rate calls (tool_error_rate_over_baseline).
error_rate_factor = 3.0
min_calls_for_error_rate = 5

# Flag spend above spend_factor x the expected spend per session (spend_over_expected).
# Expected: the value below for the agent or model, else the archive's median for it.
spend_factor = 2.0
[expected_spend_usd]
# "ap-clerk" = 0.05

# Flag sessions above token_factor x the archive's median tokens per session (tokens_over_usual).
# token_factor = 10.0

# Tools each agent may call (tool_outside_allowed_set). Agents not listed may call any tool.
[allowed_tools]
# "ap-clerk" = ["search_emails", "send_money", "get_balance"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_default_parses_to_the_default() {
        let parsed: Policy = toml::from_str(Policy::default_toml()).unwrap();
        assert_eq!(parsed, Policy::default());
    }

    #[test]
    fn unknown_keys_are_errors_not_silence() {
        assert!(toml::from_str::<Policy>("max_tool_call_per_session = 3").is_err());
    }
}
