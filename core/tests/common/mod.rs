//! What core's integration tests share: cluster repositories read from the project's folders
//! (tests may do I/O; core's code may not).

use grove_core::Files;
use std::path::Path;

/// The files of the project folders `dirs`, laid over each other in order, path → text.
#[allow(dead_code)]
pub fn project_files(dirs: &[&str]) -> Files {
    fn walk(root: &Path, dir: &Path, files: &mut Files) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .replace('\\', "/");
                files.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Files::new();
    for dir in dirs {
        let root = project.join(dir);
        walk(&root, &root, &mut files);
    }
    files
}

/// What core makes of `title` against `files`, with the default options, as the CLI would.
#[allow(dead_code)]
pub fn generate(files: Files, title: &str) -> grove_core::Result<grove_core::Generated> {
    let options = grove_core::Options::default();
    let cluster = grove_core::generate::InMemory::new(files, options.clone());
    grove_core::generate(&cluster, grove_core::Input::Title(title), &options)
}

/// The pipeline `plan` renders to against `fleet`, with its embedded or overridden templates
/// and the default options: the generated file, read back and checked.
#[allow(dead_code)]
pub fn render(
    plan: &grove_core::Plan,
    fleet: &grove_core::Fleet,
) -> grove_core::Result<grove_core::Pipeline> {
    let options = grove_core::Options::default();
    let templates = grove_core::render::template::Templates::new(fleet, options.patches(fleet))?;
    grove_core::shard::render(plan, fleet, &templates, &options).map(|r| r.main.pipeline)
}

/// A request read from a title that must parse.
#[allow(dead_code)]
pub fn request(title: &str) -> grove_core::Request {
    grove_core::title::request(title).unwrap().0
}
