using System.Text.Json;
using System.Text.Json.Nodes;
using NewLlm;
using NewLlm.Benchmarks;
using NewLlm.Testing;
using TorchSharp;

// Training-step throughput of NewLlmModel's public forward (training mode), the direct port, and the
// PyTorch reference, measured in the same run. One JSON line per implementation and configuration.
BenchmarkSettings settings;
try
{
    settings = BenchmarkSettings.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

TorchBackend.EnsureLoaded();
torch.set_num_threads(settings.Threads);
ReferenceRunner? reference = null;
if (!settings.SkipReference)
{
    reference = ReferenceRunner.TryCreate(out string why);
    if (reference is null)
    {
        Console.Error.WriteLine($"The PyTorch reference is not run: {why}.");
    }
}

foreach (int batch in settings.Batches)
{
    foreach (int layers in settings.Layers)
    {
        var options = new NewLlmOptions { NumLayers = layers, VocabSize = settings.Vocab, Dropout = settings.Dropout };
        var ours = new List<double>();
        var oursFaults = new List<double>();
        var direct = new List<double>();
        var referenceRuns = new List<double>();
        string? torchVersion = null;
        for (int repeat = 0; repeat < settings.Repeats; repeat++)
        {
            torch.manual_seed(1);
            using (var model = new NewLlmModel(options))
            {
                (double seconds, double faults) = TrainingStepBenchmark.Measure(model, model.call, batch, settings.Seq, settings.Steps);
                ours.Add(seconds);
                oursFaults.Add(faults);
            }

            if (!settings.SkipDirect)
            {
                torch.manual_seed(1);
                using var model = new NewLlmModel(options);
                direct.Add(TrainingStepBenchmark.Measure(model, ids => DirectPortModel.Forward(model, options.Dropout, ids), batch, settings.Seq, settings.Steps).SecondsPerStep);
            }

            if (reference is not null)
            {
                JsonElement? line = reference.Bench(batch, settings.Seq, layers, settings.Vocab, settings.Steps, settings.Threads, out string why);
                if (line is { } json)
                {
                    referenceRuns.Add(json.GetProperty("sec_per_step").GetDouble());
                    torchVersion = json.GetProperty("torch").GetString();
                }
                else
                {
                    Console.Error.WriteLine($"The PyTorch reference failed: {why}.");
                }
            }
        }

        long tokens = (long)batch * (settings.Seq - 1);
        JsonObject Line(string implementation, List<double> runs)
        {
            double median = Median(runs);
            var line = new JsonObject
            {
                ["implementation"] = implementation,
                ["batch"] = batch,
                ["seq"] = settings.Seq,
                ["layers"] = layers,
                ["vocab"] = settings.Vocab,
                ["threads"] = settings.Threads,
                ["dropout"] = settings.Dropout,
                ["steps"] = settings.Steps,
                ["sec_per_step"] = Math.Round(median, 4),
                ["train_tokens_per_sec"] = Math.Round(tokens / median, 1),
            };
            if (runs.Count > 1)
            {
                line["runs_sec_per_step"] = new JsonArray(runs.Select(r => (JsonNode)Math.Round(r, 4)).ToArray());
            }

            return line;
        }

        JsonObject oursLine = Line("newllm-torchsharp", ours);
        oursLine["minor_faults_per_step"] = Math.Round(Median(oursFaults));
        oursLine["peak_rss_mb"] = Math.Round(ProcessUsage.PeakResidentBytes / 1e6); // of this process so far (the reference runs in its own)
        if (direct.Count > 0)
        {
            JsonObject directLine = Line("direct-port-torchsharp", direct);
            oursLine["speedup_vs_direct_port"] = Math.Round(Median(direct) / Median(ours), 2);
            Console.WriteLine(directLine.ToJsonString());
        }

        if (referenceRuns.Count > 0)
        {
            JsonObject referenceLine = Line("pytorch-reference", referenceRuns);
            referenceLine["torch"] = torchVersion;
            oursLine["reference_tokens_per_sec"] = Math.Round(tokens / Median(referenceRuns), 1);
            oursLine["speedup_vs_reference"] = Math.Round(Median(referenceRuns) / Median(ours), 2);
            Console.WriteLine(referenceLine.ToJsonString());
        }

        Console.WriteLine(oursLine.ToJsonString());
    }
}

return 0;

static double Median(List<double> values)
{
    var sorted = values.OrderBy(v => v).ToList();
    int n = sorted.Count;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
}
