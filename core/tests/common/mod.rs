//! What core's integration tests share: cluster repositories read from the project's folders
//! (tests may do I/O; core's code may not).

use grove_core::Files;
use std::path::Path;

/// The files of the project folders `dirs`, laid over each other in order, path → text.
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
