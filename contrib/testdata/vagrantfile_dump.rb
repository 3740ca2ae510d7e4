# Loads a Vagrantfile without Vagrant and prints, as JSON, the machines it
# defines: name, hostname, private network address, shell provisioners and
# PCI devices handed through. Tests use it to run the Vagrantfile's
# provisioning commands themselves.
#
#   ruby vagrantfile_dump.rb PATH/Vagrantfile
require "json"

# Rec records every call made on it (and on what the calls return), as the
# configuration objects Vagrant yields would receive them.
class Rec < BasicObject
  attr_reader :calls

  def initialize
    @calls = []
  end

  def method_missing(name, *args, **kw, &blk)
    child = ::Rec.new
    @calls << [name.to_s, args, kw, child]
    blk&.call(child)
    child
  end

  def respond_to_missing?(*)
    true
  end

  # find yields every recorded call named name, at any depth.
  def find(name, &blk)
    @calls.each do |c|
      blk.call(c) if c[0] == name
      c[3].find(name, &blk)
    end
  end
end

module Vagrant
  def self.configure(_version)
    config = Rec.new
    yield config
    machines = []
    config.find("define") do |_, args, _, node|
      m = { name: args[0], hostname: nil, ip: nil, provision: [], pci: [] }
      node.find("hostname=") { |_, a, _, _| m[:hostname] = a[0] }
      node.find("network") { |_, _, kw, _| m[:ip] ||= kw[:ip] }
      node.find("provision") { |_, a, kw, _| m[:provision] << { type: a[0], path: kw[:path], args: kw[:args] } }
      node.find("pci") { |_, _, kw, _| m[:pci] << kw }
      machines << m
    end
    $stdout.puts JSON.pretty_generate(machines)
  end
end

load ARGV.fetch(0)
