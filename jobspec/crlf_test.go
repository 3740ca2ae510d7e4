package jobspec

import (
	"strings"
	"testing"
)

// A script saved with DOS line breaks would start "/bin/bash\r" on the
// node and fail there; it is refused when it is read, as sbatch does.
func TestScriptCRLF(t *testing.T) {
	tests := []struct {
		src  string
		line string
	}{
		{"#!/bin/bash\r\n#SBATCH -J crlf\r\necho hi\r\n", "job.sh:1:12: DOS line breaks"},
		{"#!/bin/bash\n#SBATCH -J crlf\necho hi\r\n", "job.sh:3:8: DOS line breaks"},
	}
	for _, tc := range tests {
		_, err := ParseScript("job.sh", []byte(tc.src), Options{Now: testNow})
		if err == nil {
			t.Fatalf("%q: accepted", tc.src)
		}
		if !strings.HasPrefix(err.Error(), tc.line) || !strings.Contains(err.Error(), "dos2unix job.sh") {
			t.Errorf("%q: error %q; want it to start %q and suggest dos2unix", tc.src, err, tc.line)
		}
	}
	// A lone \r inside a line is the script's business.
	if _, err := ParseScript("job.sh", []byte("#!/bin/bash\nprintf 'a\\rb'\n"), Options{Now: testNow}); err != nil {
		t.Errorf("lone \\r refused: %v", err)
	}
}

// An HCL file saved with DOS line breaks is fine HCL, but a heredoc script
// in it would carry the \r into bash: it is refused too.
func TestHCLScriptCRLF(t *testing.T) {
	src := "job \"x\" {\r\n  task {\r\n    script = <<-EOT\r\n      #!/bin/bash\r\n      echo hi\r\n    EOT\r\n  }\r\n}\r\n"
	_, err := Parse("x.hcl", []byte(src), Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "x.hcl:3:14: DOS line breaks") || !strings.Contains(err.Error(), "dos2unix x.hcl") {
		t.Fatalf("error %v; want DOS line breaks at x.hcl:3:14 suggesting dos2unix", err)
	}
	// The rest of a CRLF file is fine HCL.
	src = "job \"x\" {\r\n  task {\r\n    command = \"true\"\r\n  }\r\n}\r\n"
	if _, err := Parse("x.hcl", []byte(src), Options{}); err != nil {
		t.Errorf("CRLF HCL file with a command refused: %v", err)
	}
}
