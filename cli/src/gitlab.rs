//! GitLab's REST API (v4), as a CI job sees it: the merge request note of
//! `grove plan --merge-request-note` (and, later, the commits API).
//!
//! One small client, blocking for its callers: requests run on a one-thread tokio runtime, as
//! the S3 env store's do. It is `reqwest` over rustls with the system's certificates, the very
//! crate and features `object_store` (the env store on S3) already compiles into `grove`, so
//! GitLab's API adds no dependency to the build, no C toolchain and no OpenSSL to the musl
//! binary. Every failure is exit 1 with what GitLab said, and 401 and 403 say what the token
//! lacks.

use crate::failure::Failure;
use serde_json::{json, Value};
use std::time::Duration;

/// The environment variable that holds the access token (the plan component sets it from the
/// variable its `gitlab-token` input names).
pub const TOKEN_VARIABLE: &str = "GROVE_GITLAB_TOKEN";

/// The most notes read while looking for Grove's own (100 per page).
const MAX_PAGES: u32 = 50;

/// A client of one GitLab's API, with one token.
pub struct Client {
    /// The API's root, such as `https://gitlab.com/api/v4`, without a trailing `/`.
    api: String,
    token: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

/// A response: its status and its body read as JSON (`null` when it is not JSON).
struct Response {
    status: u16,
    body: Value,
    next_page: Option<u32>,
}

/// What [`Client::upsert_note`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteAction {
    /// A new note, of this id.
    Created(u64),
    /// Grove's earlier note, of this id, now holds the new text.
    Updated(u64),
}

impl Client {
    /// A client of the API at `api` (CI_API_V4_URL) with `token`.
    pub fn new(api: &str, token: &str) -> Result<Client, Failure> {
        let api = api.trim_end_matches('/');
        if !(api.starts_with("https://") || api.starts_with("http://")) {
            return Err(Failure::External(format!(
                "GitLab's API address {api:?} is not an http(s) URL (CI_API_V4_URL)"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("grove/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Failure::External(format!("cannot start the GitLab client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::External(format!("cannot start the GitLab client: {e}")))?;
        Ok(Client {
            api: api.to_string(),
            token: token.to_string(),
            http,
            runtime,
        })
    }

    /// One request that must succeed: `what` says what it is for, in failure messages, which
    /// say that a token refused with 403 needs the `api` scope and the Reporter role.
    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Response, Failure> {
        let response = self.request(method, path, body, what)?;
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        Err(refused(&response, what, READER))
    }

    /// One request, whatever GitLab answers; exit 1 when GitLab does not answer.
    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Response, Failure> {
        let url = format!("{}{path}", self.api);
        let mut request = self
            .http
            .request(method, &url)
            .header("PRIVATE-TOKEN", &self.token)
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = self.runtime.block_on(async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let next_page = response
                .headers()
                .get("x-next-page")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>(Response {
                status,
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                next_page,
            })
        });
        response.map_err(|e| {
            Failure::External(format!(
                "cannot {what}: GitLab's API at {} did not answer: {e}",
                self.api
            ))
        })
    }

    /// Creates the note `body` on merge request `iid` of `project`, or updates the token's own
    /// earlier note that holds `marker`, so that a merge request has one note from Grove.
    pub fn upsert_note(
        &self,
        project: &str,
        iid: u64,
        marker: &str,
        body: &str,
    ) -> Result<NoteAction, Failure> {
        let me = self.send(
            reqwest::Method::GET,
            "/user",
            None,
            "find whose token GROVE_GITLAB_TOKEN is",
        )?;
        let me = me.body["id"].as_u64().ok_or_else(|| {
            Failure::External(
                "cannot find whose token GROVE_GITLAB_TOKEN is: GitLab's answer to /user has no id"
                    .into(),
            )
        })?;
        let notes = format!(
            "/projects/{}/merge_requests/{iid}/notes",
            encode_path_segment(project)
        );
        let what = format!("post the plan on merge request !{iid}");
        let mut page = 1;
        let mut found = None;
        while found.is_none() && page <= MAX_PAGES {
            let listed = self.send(
                reqwest::Method::GET,
                &format!("{notes}?sort=asc&order_by=created_at&per_page=100&page={page}"),
                None,
                &what,
            )?;
            found = listed
                .body
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|note| {
                    let mine = note["author"]["id"].as_u64() == Some(me)
                        && note["system"] != json!(true)
                        && note["body"].as_str().is_some_and(|b| b.contains(marker));
                    note["id"].as_u64().filter(|_| mine)
                });
            match listed.next_page {
                Some(next) if next > page => page = next,
                _ => break,
            }
        }
        let body = json!({ "body": body });
        match found {
            Some(id) => {
                self.send(
                    reqwest::Method::PUT,
                    &format!("{notes}/{id}"),
                    Some(&body),
                    &what,
                )?;
                Ok(NoteAction::Updated(id))
            }
            None => {
                let created = self.send(reqwest::Method::POST, &notes, Some(&body), &what)?;
                Ok(NoteAction::Created(
                    created.body["id"].as_u64().unwrap_or(0),
                ))
            }
        }
    }
}

/// What a 403 on a read means the token lacks.
const READER: &str = "the `api` scope and at least the Reporter role in this project";

/// What GitLab said in a refusal's `message`, as `: MESSAGE` (empty when it said nothing).
fn said(response: &Response) -> String {
    match &response.body["message"] {
        Value::Null => String::new(),
        Value::String(s) => format!(": {s}"),
        other => format!(": {other}"),
    }
}

/// The failure (exit 1) of a request GitLab refused: what it said, and for 401 and 403 what is
/// wrong with the token (for 403, that it needs `needs`).
fn refused(response: &Response, what: &str, needs: &str) -> Failure {
    let said = said(response);
    let why = match response.status {
        401 => format!(
            "GitLab did not accept the token in {TOKEN_VARIABLE} (401 Unauthorized{said}); it may be expired or revoked"
        ),
        403 => format!(
            "GitLab refused the token in {TOKEN_VARIABLE} (403 Forbidden{said}): it needs {needs}"
        ),
        404 => format!("GitLab found no such thing (404 Not Found{said})"),
        status => format!("GitLab answered {status}{said}"),
    };
    Failure::External(format!("cannot {what}: {why}"))
}

/// The CI job's variable, if it is set and not empty.
fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The marker that finds Grove's own note again: an HTML comment (not shown) naming the job,
/// so that two plan jobs of one project (two clusters, two job prefixes) keep a note each.
pub fn note_marker(job: &str) -> String {
    let job: String = job
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("<!-- grove-plan: {job} -->")
}

/// The note: the marker, a heading with what was planned, the plan, and where it comes from.
pub fn note_body(marker: &str, subject: &str, plan_markdown: &str) -> String {
    let mut body = format!(
        "{marker}\n#### Grove plan for {}\n\n{plan_markdown}",
        grove_core::plan::markdown_code(subject)
    );
    let pipeline = match (variable("CI_PIPELINE_ID"), variable("CI_PIPELINE_URL")) {
        (Some(id), Some(url)) if id.bytes().all(|b| b.is_ascii_digit()) => {
            // GitLab's own URL, its few Markdown-breaking characters encoded.
            let url = url
                .replace(' ', "%20")
                .replace('(', "%28")
                .replace(')', "%29")
                .replace('<', "%3C")
                .replace('>', "%3E");
            Some(format!("pipeline [#{id}]({url})"))
        }
        _ => None,
    };
    let commit = variable("CI_COMMIT_SHORT_SHA")
        .filter(|sha| sha.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|sha| format!("commit `{sha}`"));
    let from: Vec<String> = pipeline.into_iter().chain(commit).collect();
    body.push_str("\n<sub>");
    if !from.is_empty() {
        body.push_str(&format!("From {}. ", from.join(", ")));
    }
    body.push_str("Grove updates this note on every pipeline of the merge request.</sub>\n");
    body
}

/// `grove plan --merge-request-note`: creates or updates Grove's note on the merge request of
/// this pipeline with `plan`, when `GROVE_GITLAB_TOKEN` holds a token; otherwise says why not
/// (the plan is in the job's log).
pub fn post_plan(
    ui: &crate::process::Ui,
    plan: &grove_core::Plan,
    subject: &str,
) -> Result<(), Failure> {
    let Some(token) = variable(TOKEN_VARIABLE) else {
        ui.info(format!(
            "no token in {TOKEN_VARIABLE}: the plan is in this log only (the plan component's `gitlab-token` input posts it on the merge request)"
        ));
        return Ok(());
    };
    let Some(iid) = variable("CI_MERGE_REQUEST_IID") else {
        ui.info("not a merge request pipeline (no CI_MERGE_REQUEST_IID): no note is posted");
        return Ok(());
    };
    let iid: u64 = iid.trim().parse().map_err(|_| {
        Failure::External(format!(
            "CI_MERGE_REQUEST_IID is {iid:?}, not a merge request number"
        ))
    })?;
    let required = |name: &str| {
        variable(name).ok_or_else(|| {
            Failure::External(format!(
                "cannot post the plan on merge request !{iid}: {name} is not set (GitLab sets it in CI jobs)"
            ))
        })
    };
    let api = required("CI_API_V4_URL")?;
    let project = required("CI_PROJECT_ID")?;
    let marker = note_marker(&variable("CI_JOB_NAME").unwrap_or_else(|| "grove-plan".into()));
    let body = note_body(&marker, subject, &plan.markdown());
    let client = Client::new(&api, &token)?;
    match client.upsert_note(&project, iid, &marker, &body)? {
        NoteAction::Created(id) => ui.info(format!(
            "posted the plan on merge request !{iid} (note {id})"
        )),
        NoteAction::Updated(id) => ui.info(format!(
            "updated the plan on merge request !{iid} (note {id})"
        )),
    }
    Ok(())
}

/// A project id or path as one URL path segment (`group/project` → `group%2Fproject`).
fn encode_path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_paths_are_one_segment() {
        assert_eq!(encode_path_segment("42"), "42");
        assert_eq!(encode_path_segment("ops/cluster"), "ops%2Fcluster");
        assert_eq!(encode_path_segment("a b?#"), "a%20b%3F%23");
    }
}
