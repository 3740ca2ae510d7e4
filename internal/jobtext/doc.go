// Package jobtext is how jobs read as text in nai's tables: squeue-like
// time cells, GPU and node cells, exit summaries, folded sweep ids, the
// queue table itself, and Printable, through which user-written text
// passes on its way into a table or a one-line status.
//
// The CLI prints these tables, and the servers write the queue table for
// GET /v1/queue?view=table, so that `nai queue` copies a finished table
// instead of decoding thousands of jobs (issue 16: listing 5000 pending
// jobs in half of squeue's time). Nothing here reads a clock: every
// function that depends on the time takes "now", so the output is fixed
// for fixed input (the CLI's golden tests).
package jobtext
