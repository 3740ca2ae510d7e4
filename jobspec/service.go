package jobspec

import (
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/nai-project/nai/structs"
)

var jobTypes = []string{string(structs.JobBatch), string(structs.JobService)}

// jobType reads `type` and checks that the service block goes with it: a
// service job needs one, a batch job may not have one.
func (d *decoder) jobType(job *structs.Job, a *hcl.Attribute, content *hcl.BodyContent) {
	var svc *hcl.Block
	for _, b := range content.Blocks {
		if b.Type == "service" {
			svc = b
			break
		}
	}
	if a != nil {
		s, ok := d.str(a)
		if !ok {
			return
		}
		if !slices.Contains(jobTypes, s) {
			d.errorf(a, "Unknown job type", "type %q is unknown: expected \"batch\" (runs to its end, the default) or \"service\" (runs until stopped, answering requests).%s", s, didYouMean(s, jobTypes))
			return
		}
		if s == string(structs.JobService) {
			job.Type = structs.JobService
		}
	}
	switch {
	case job.IsService() && svc == nil:
		d.errorf(a, "Missing service block",
			`A service job needs a service block, such as service { replicas = 2  health { path = "/health" } }.`)
	case !job.IsService() && svc != nil:
		d.diags = append(d.diags, errorAt(svc.DefRange, "Service block on a batch job",
			`A service block belongs to a job with type = "service"; a batch job runs to its end and has no replicas.`))
	}
}

var serviceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "replicas"}, {Name: "port"}, {Name: "unhealthy_after"}, {Name: "public"},
		{Name: "preemptible"}, {Name: "shutdown_delay"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "health"}},
}

var healthSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "path"}, {Name: "interval"}, {Name: "timeout"}, {Name: "grace"}},
}

// service reads the service block. preemptible there is the job's: a
// service is not preempted by training unless it says so.
func (d *decoder) service(job *structs.Job, b *hcl.Block) *structs.ServiceSpec {
	c, ok := d.content(b, serviceSchema)
	if !ok {
		return nil
	}
	s := &structs.ServiceSpec{Replicas: 1}
	if a := c.Attributes["replicas"]; a != nil {
		// "replicas must be a whole number from 1 to 1000; got 0": a
		// service is stopped with `nai service stop`, not scaled to 0.
		if n, ok := d.integer(a, 1, structs.MaxReplicas); ok {
			s.Replicas = n
		}
	}
	if a := c.Attributes["port"]; a != nil {
		s.Port, _ = d.str(a)
	}
	if a := c.Attributes["unhealthy_after"]; a != nil {
		s.UnhealthyAfter, _ = d.integer(a, 1, structs.MaxUnhealthyAfter)
	}
	if a := c.Attributes["public"]; a != nil {
		s.Public, _ = d.boolean(a)
	}
	if a := c.Attributes["preemptible"]; a != nil {
		job.Preemptible, _ = d.boolean(a)
	}
	if a := c.Attributes["shutdown_delay"]; a != nil {
		v, _ := d.duration(a, structs.MaxShutdownDelay)
		s.ShutdownDelay = structs.Duration(v)
	}
	if hc := d.single(c.Blocks, "service", "health", "", healthSchema); hc != nil {
		if a := hc.Attributes["path"]; a != nil {
			if p, ok := d.str(a); ok {
				if err := structs.ValidHealthPath(p); err != nil {
					d.errorf(a, "Invalid health path", "%s.", err)
				} else {
					s.Health.Path = p
				}
			}
		}
		for _, f := range []struct {
			name string
			dst  *structs.Duration
		}{{"interval", &s.Health.Interval}, {"timeout", &s.Health.Timeout}, {"grace", &s.Health.Grace}} {
			if a := hc.Attributes[f.name]; a != nil {
				v, ok := d.duration(a, maxHealthDuration)
				if ok && v == 0 && f.name != "grace" {
					d.errorf(a, "Invalid "+f.name, "health %s must be more than 0, such as \"2s\".", f.name)
				}
				*f.dst = structs.Duration(v)
			}
		}
	}
	return s
}

const maxHealthDuration = 60 * 60 * 1e9 // 1h
