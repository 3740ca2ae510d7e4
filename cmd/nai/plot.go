package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/structs"
)

// `nai job metrics ID -plot KEY`: the curve of one metric in the terminal,
// for a quick look over ssh. The history is the job's NAI_METRICS_FILE,
// kept when it ends and read from its node while it runs.

// plotFlags are the flags `nai job metrics` takes for a plot.
func plotFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "plot", Usage: "draw the curve of this metric (step on the x axis) in the terminal"},
		&cli.IntFlag{Name: "width", Value: 72, Usage: "plot width in columns"},
		&cli.IntFlag{Name: "height", Value: 16, Usage: "plot height in rows"},
	}
}

func jobMetricsPlot(c *cli.Context, id, key string) error {
	w, h := c.Int("width"), c.Int("height")
	if w < 20 || w > 1000 || h < 4 || h > 500 {
		return &usageError{msg: fmt.Sprintf("plot size %dx%d: expected -width 20 to 1000 and -height 4 to 500", w, h), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	m, err := cl.MetricsFrom(c.Context, id, 0)
	if err != nil {
		return err
	}
	xs, ys, keys := metricSeries(m, key)
	if len(ys) == 0 {
		if len(keys) == 0 {
			return fmt.Errorf("job %s has written no metrics yet (a job appends JSON lines such as {\"step\": 1, \"loss\": 0.5} to $NAI_METRICS_FILE)", id)
		}
		return fmt.Errorf("job %s has no metric %q: it wrote %s", id, key, strings.Join(keys, ", "))
	}
	_, err = io.WriteString(c.App.Writer, plotSeries(xs, ys, w, h, fmt.Sprintf("job %s: %s", id, key)))
	return err
}

// metricSeries picks one key from a job's history: x is the line's "step"
// when it has one, else the line's number; keys lists what the history
// holds, for an error that helps.
func metricSeries(m *structs.JobMetrics, key string) (xs, ys []float64, keys []string) {
	seen := map[string]bool{}
	for i, line := range m.History {
		var obj map[string]any
		if json.Unmarshal(line, &obj) != nil {
			continue
		}
		for k, v := range obj {
			if _, ok := v.(float64); ok && k != "step" && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		v, ok := obj[key].(float64)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		x := float64(m.From + i)
		if s, ok := obj["step"].(float64); ok {
			x = s
		}
		xs, ys = append(xs, x), append(ys, v)
	}
	slices.Sort(keys)
	return xs, ys, keys
}

// Braille cells hold 2 x 4 dots: a plot of width x height cells has
// 2*width x 4*height points.
var brailleBits = [4][2]rune{{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}}

// plotSeries draws y over x with braille dots, joining neighbouring
// points, with the y range on the left and the x range below.
func plotSeries(xs, ys []float64, width, height int, title string) string {
	xmin, xmax := slices.Min(xs), slices.Max(xs)
	ymin, ymax := slices.Min(ys), slices.Max(ys)
	if xmax == xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	if ymax == ymin {
		ymin, ymax = ymin-1, ymax+1
	}
	dh := height * 4
	// The middle label is the value at the middle of its row.
	mid := (height - 1) / 2
	labels := []string{fmtAxis(ymax), fmtAxis(ymax - (float64(mid*4)+1.5)/float64(dh-1)*(ymax-ymin)), fmtAxis(ymin)}
	lw := 0
	for _, l := range labels {
		lw = max(lw, len(l))
	}
	cols := max(width-lw-2, 8)
	dw := cols * 2
	grid := make([][]rune, height)
	for r := range grid {
		grid[r] = make([]rune, cols)
	}
	dot := func(px, py int) {
		if px < 0 || py < 0 || px >= dw || py >= dh {
			return
		}
		grid[py/4][px/2] |= brailleBits[py%4][px%2]
	}
	toPx := func(x, y float64) (int, int) {
		px := int(math.Round((x - xmin) / (xmax - xmin) * float64(dw-1)))
		py := int(math.Round((ymax - y) / (ymax - ymin) * float64(dh-1)))
		return px, py
	}
	for i := range xs {
		px, py := toPx(xs[i], ys[i])
		dot(px, py)
		if i == 0 {
			continue
		}
		// Join to the previous point so a sparse curve reads as a line.
		qx, qy := toPx(xs[i-1], ys[i-1])
		steps := max(abs(px-qx), abs(py-qy))
		for s := 1; s < steps; s++ {
			t := float64(s) / float64(steps)
			dot(qx+int(math.Round(t*float64(px-qx))), qy+int(math.Round(t*float64(py-qy))))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  (%s, last %s)\n", title, plural(len(ys), "point"), fmtAxis(ys[len(ys)-1]))
	for r := range grid {
		label := ""
		switch r {
		case 0:
			label = labels[0]
		case mid:
			label = labels[1]
		case height - 1:
			label = labels[2]
		}
		fmt.Fprintf(&b, "%*s ┤", lw, label)
		for _, c := range grid[r] {
			if c == 0 {
				b.WriteRune(' ')
			} else {
				b.WriteRune(0x2800 + c)
			}
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%*s └%s\n", lw, "", strings.Repeat("─", cols))
	lo, hi := fmtAxis(xmin), fmtAxis(xmax)
	fmt.Fprintf(&b, "%*s  %s%*s\n", lw, "", lo, cols-len(lo), hi)
	fmt.Fprintf(&b, "%*s  %*s\n", lw, "", (cols+4)/2, "step")
	return b.String()
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// fmtAxis writes an axis value short: 4 significant digits.
func fmtAxis(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e7 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
