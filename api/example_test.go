package api_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// Submit a job to whichever of three servers answers first, as the CLI
// does with NAI_ADDR="http://s1:4646,http://s2:4646,http://s3:4646".
func Example() {
	c, err := api.New(api.Config{
		Address: "http://s1:4646,http://s2:4646,http://s3:4646",
		Token:   os.Getenv("NAI_TOKEN"),
	})
	if err != nil {
		log.Fatal(err)
	}
	job := &structs.Job{
		Name:      "digits-mlp",
		Resources: structs.Resources{GPU: structs.GPURequest{Count: 1}},
		Task:      structs.Task{Command: "python3", Args: []string{"train.py"}},
	}
	resp, err := c.Register(context.Background(), job)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("submitted job", resp.JobIDs[0], "through", c.Address())
}

// Upload a large file so that a broken link resumes instead of starting
// over: chunks of 64 MiB, up to 5 retries of one chunk in a row.
func ExampleClient_UploadFile() {
	c, err := api.NewClient("")
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("dataset.tar.gz")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		log.Fatal(err)
	}
	digest := "the file's sha256, in hex" // computed before the upload
	info, err := c.UploadFile(context.Background(), f, fi.Size(), digest, api.DefaultChunkSize, 5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored", info.Digest, info.Size)
}
