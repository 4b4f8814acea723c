// A dropped or chosen folder as a fleet: its paths made relative to the cluster root, only the
// files Grove reads, and their text.
//
// The folder may be the cluster repository, its `instances/` folder, or a folder of instance
// folders under another name. Hidden folders (`.venv`, `.git`) are never walked.

/** A file found in a folder: its path relative to the dropped item, and how to read it. */
class Found {
  constructor(path, read) {
    this.path = path;
    this.read = read;
  }
}

/** Every file under a `FileSystemEntry` (from a drop), skipping hidden folders. */
async function walk(entry, out) {
  if (entry.isFile) {
    out.push(new Found(entry.fullPath.replace(/^\/+/, ''), () => new Promise((ok, fail) => entry.file((f) => ok(f.text()), fail))));
    return;
  }
  if (!entry.isDirectory || (entry.name.startsWith('.') && entry.fullPath !== '/')) return;
  const reader = entry.createReader();
  for (;;) {
    const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, out);
  }
}

/**
 * Maps paths inside a dropped folder to paths relative to the cluster root.
 * @param {string[]} paths with `/`, starting with the dropped folder's name
 * @returns {Map<string, string>} dropped path → cluster path, for the paths under the root
 */
export function clusterPaths(paths) {
  let root = null;
  for (const path of paths) {
    const parts = path.split('/');
    const i = parts.length - 3;
    if (i >= 0 && parts[i] === 'instances') {
      const candidate = parts.slice(0, i).join('/');
      if (root === null || candidate.length < root.length) root = candidate;
    }
  }
  const out = new Map();
  for (const path of paths) {
    const parts = path.split('/');
    if (root !== null) {
      if (root === '') out.set(path, path);
      else if (path.startsWith(`${root}/`)) out.set(path, path.slice(root.length + 1));
    } else if (parts.length === 3) {
      // A folder of instance folders under another name: FOLDER/NAME/config.yml.
      out.set(path, `instances/${parts[1]}/${parts[2]}`);
    } else if (parts.length === 2) {
      // One instance folder: NAME/config.yml.
      out.set(path, `instances/${path}`);
    }
  }
  return out;
}

/**
 * Reads the fleet out of found files.
 * @param {Found[]} found
 * @param {(paths: string[]) => Promise<boolean[]>} fleetFiles which of the paths Grove reads
 * @returns {Promise<{label: string, files: Map<string, string>, skipped: number}>}
 */
async function read(found, fleetFiles) {
  const paths = clusterPaths(found.map((f) => f.path));
  const candidates = found.filter((f) => paths.has(f.path));
  const keep = await fleetFiles(candidates.map((f) => paths.get(f.path)));
  const kept = candidates.filter((f, i) => keep[i]);
  const texts = await Promise.all(kept.map((f) => f.read()));
  const files = new Map(kept.map((f, i) => [paths.get(f.path), texts[i]]).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  const first = found.length ? found[0].path.split('/')[0] : '';
  return { label: first || 'the files', files, skipped: found.length - kept.length };
}

/** The fleet in a drop event's data. */
export async function fromDrop(dataTransfer, fleetFiles) {
  const found = [];
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
  if (entries.length && entries.some((e) => e.isDirectory)) {
    for (const entry of entries) await walk(entry, found);
  } else {
    for (const file of dataTransfer.files) found.push(new Found(file.webkitRelativePath || file.name, () => file.text()));
  }
  return read(found, fleetFiles);
}

/** The fleet in the files of an `<input type=file webkitdirectory>`. */
export async function fromInput(fileList, fleetFiles) {
  const found = [...fileList]
    .filter((file) => !(file.webkitRelativePath || file.name).split('/').some((part, i, all) => i < all.length - 1 && part.startsWith('.')))
    .map((file) => new Found(file.webkitRelativePath || file.name, () => file.text()));
  return read(found, fleetFiles);
}
