// Package archive packs folders into the tar+gzip archives nai moves
// around (a job's code, its outputs) and unpacks them onto the local disk
// without trusting them.
//
// Pack writes the same bytes for the same folder (sorted names, no owners
// or times), so content-addressed blobs of unchanged code are stored once.
// Extract restores the modification time an entry carries; an entry
// without one (time 0, as Pack writes) is dated when it is unpacked.
//
// Pack walks a folder by file descriptors (openat relative to the open
// parent, O_NOFOLLOW, the type from fstat of what was opened), never by
// path: a root agent packs a job's outputs while the job's user may still
// change them, and swapping a directory for a symlink must not make it
// read anything outside the folder. Symlinks are packed as links, never
// followed; PackOptions.Owner leaves out files of another owner (hard
// links), and NoFollow refuses a folder that is itself a symlink.
//
// An archive comes from a training job, which is other people's code, so
// unpacking refuses anything that could write outside the target directory
// or harm the machine: absolute names, ".." escapes, writes through a
// symlink, hard links, device files and FIFOs, and archives that expand
// past a size or entry limit (a gzip bomb) stop the extraction with an
// error. A symlink whose target is absolute or leaves the directory is
// skipped and listed in Stats.Skipped: jobs leave such links innocently,
// and not creating one is safe. Setuid, setgid and sticky bits are dropped; ownership is not
// restored.
//
// It imports only the standard library, klauspost/compress and
// golang.org/x/sys/unix; nothing of the project.
package archive
