//! GitLab's REST API (v4), as a CI job sees it: the merge request note of
//! `grove plan --merge-request-note`, and the commit of `grove new NAME --commit`.
//!
//! One small client, blocking for its callers: requests run on a one-thread tokio runtime, as
//! the S3 env store's do. It is `reqwest` over rustls with the system's certificates, the very
//! crate and features `object_store` (the env store on S3) already compiles into `grove`, so
//! GitLab's API adds no dependency to the build, no C toolchain and no OpenSSL to the musl
//! binary. Every failure is exit 1 with what GitLab said, and 401 and 403 say what the token
//! lacks.

use crate::failure::Failure;
use crate::instance::NewFile;
use base64::Engine;
use grove_core::fleet::INSTANCES_DIR;
use grove_core::name::InstanceName;
use grove_core::request::{Request, Target};
use grove_core::value::DeploymentId;
use grove_core::{Cause, Error};
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

/// A commit [`Client::create_commit`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Its id (hexadecimal).
    pub id: String,
    /// Its page on GitLab, if GitLab gave one.
    pub web_url: Option<String>,
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

    /// Creates one commit on `branch` of `project` titled `message` that creates every file of
    /// `files` under the folder `under`, with its bytes (base64, so any file is sent as it is)
    /// and its execute bit: all of them, or nothing when GitLab refuses. `what` says what it is
    /// for, in failure messages. GitLab saying a file is already there is exit 4; any other
    /// refusal exit 1, a 403 saying that the token must be allowed to push to `branch`.
    pub fn create_commit(
        &self,
        project: &str,
        branch: &str,
        message: &str,
        under: &str,
        files: &[NewFile],
        what: &str,
    ) -> Result<Commit, Failure> {
        let body = commit_body(branch, message, under, files);
        let path = format!(
            "/projects/{}/repository/commits",
            encode_path_segment(project)
        );
        let response = self.request(reqwest::Method::POST, &path, Some(&body), what)?;
        match response.status {
            200..=299 => {}
            400 if said(&response)
                .to_ascii_lowercase()
                .contains("with this name already exists") =>
            {
                return Err(Error::new(
                    Cause::AlreadyExists,
                    format!(
                        "cannot {what}: it is already there (GitLab answered 400{}); pull it into this checkout, or choose another name",
                        said(&response)
                    ),
                )
                .into());
            }
            _ => {
                let needs = format!(
                    "the `api` scope and a role allowed to push to {branch} (Developer or Maintainer; a protected branch allows only the roles its settings name)"
                );
                return Err(refused(&response, what, &needs));
            }
        }
        let id = response.body["id"]
            .as_str()
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| {
                Failure::External(format!(
                    "cannot {what}: GitLab's answer holds no commit id; look at {branch} to see whether the commit was made"
                ))
            })?;
        Ok(Commit {
            id: id.to_string(),
            web_url: response.body["web_url"]
                .as_str()
                .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
                .map(str::to_string),
        })
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
    plan: &grove_core::plan::Report<'_>,
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

/// The body of a commit that creates `files` under `under`: each file's content in base64 (a
/// file need not be UTF-8, and no byte is changed on the way), and for an executable file a
/// `chmod` after its `create`, as git keeps the execute bit.
fn commit_body(branch: &str, message: &str, under: &str, files: &[NewFile]) -> Value {
    let mut actions = Vec::with_capacity(files.len());
    for file in files {
        let file_path = format!("{under}/{}", file.path);
        actions.push(json!({
            "action": "create",
            "file_path": file_path,
            "content": base64::engine::general_purpose::STANDARD.encode(&file.bytes),
            "encoding": "base64",
        }));
        if file.executable {
            actions.push(json!({
                "action": "chmod",
                "file_path": file_path,
                "execute_filemode": true,
            }));
        }
    }
    json!({ "branch": branch, "commit_message": message, "actions": actions })
}

/// `grove new NAME --commit`: commits what `grove new NAME` would put in `instances/NAME/` to
/// `branch` (else `CI_DEFAULT_BRANCH`) of the project `CI_PROJECT_ID`, through `CI_API_V4_URL`,
/// as the token in `GROVE_GITLAB_TOKEN`, in one commit titled `[AutoDeploy][Create] NAME|ID`,
/// so that the push pipeline creates the instance. Nothing is written in this checkout: the
/// commit is the instance's creation, and a pull brings it here as any other commit (a folder
/// made here too would be untracked, and stop that pull). Prints the commit's id.
pub fn commit_instance(
    context: &crate::Context,
    name: &InstanceName,
    deployment_id: Option<DeploymentId>,
    branch: Option<String>,
) -> Result<(), Failure> {
    let branch = branch
        .filter(|b| !b.trim().is_empty())
        .or_else(|| variable("CI_DEFAULT_BRANCH"));
    let needed = [
        ("CI_API_V4_URL", variable("CI_API_V4_URL")),
        ("CI_PROJECT_ID", variable("CI_PROJECT_ID")),
        ("a branch (--branch, or CI_DEFAULT_BRANCH)", branch),
        (TOKEN_VARIABLE, variable(TOKEN_VARIABLE)),
    ];
    let missing: Vec<&str> = needed
        .iter()
        .filter(|(_, value)| value.is_none())
        .map(|(what, _)| *what)
        .collect();
    if !missing.is_empty() {
        return Err(Failure::Usage(format!(
            "grove new --commit needs {}, not set: GitLab sets CI_API_V4_URL, CI_PROJECT_ID and CI_DEFAULT_BRANCH in CI jobs (elsewhere, set them to the API's root, the cluster project's id or path, and its branch), and {TOKEN_VARIABLE} must hold a token with the `api` scope that may push to the branch",
            missing.join(", ")
        )));
    }
    let [api, project, branch, token] = needed.map(|(_, value)| value.unwrap_or_default());
    let client = Client::new(&api, &token)?;
    let files = crate::instance::files(context, name)?;
    let title = Request::Create(vec![Target {
        name: name.clone(),
        deployment_id,
    }])
    .to_title();
    let under = format!("{INSTANCES_DIR}/{name}");
    let what = format!("commit {under}/ to {branch}");
    let commit = client.create_commit(&project, &branch, &title, &under, &files, &what)?;
    context.ui.info(format!(
        "committed {under}/ ({} files from defaults/) to {branch} as {}: {title}; the push pipeline creates it{}",
        files.len(),
        &commit.id[..commit.id.len().min(12)],
        commit
            .web_url
            .as_deref()
            .map_or(String::new(), |url| format!(" ({url})"))
    ));
    crate::print(&format!("{}\n", commit.id))
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
