using NewLlm.Training;

namespace NewLlm.Cli.Tests;

/// <summary>
/// <c>newllm train --model transformer</c>: the baseline trained with every other option unchanged, resumed and evaluated
/// from its checkpoint, matched to a New-LLM model's size, and New-LLM's own options refused by name. The tool runs as a
/// child process on a small HH-RLHF folder written here.
/// </summary>
[Trait("Category", "Slow")]
public sealed class TrainTransformerTests
{
    [Fact]
    public async Task TheBaselineTrainsResumesAndEvaluatesFromItsCheckpoint()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 40, testRows: 8);
        string output = temp.Combine("out");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--model", "transformer", "--num_heads", "2", "--num_layers", "1", "--data-dir", data, "--subset", "harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", output);
        Assert.True(code == 0, text);
        Assert.Contains("Transformer baseline training: transformer_hh_rlhf_layers1", text, StringComparison.Ordinal);
        Assert.Contains("Model: Transformer baseline, 1 layer(s), 2 heads", text, StringComparison.Ordinal);
        string final = Path.Combine(output, "transformer_hh_rlhf_layers1_final.pt");
        CheckpointManifest manifest = CheckpointFile.ReadManifest(final);
        Assert.Equal("transformer_baseline", manifest.ModelType);
        Assert.Equal((2, 1, 24), (manifest.BaselineOptions!.NumHeads, manifest.BaselineOptions.NumLayers, manifest.BaselineOptions.MaxSeqLength));

        // --resume rebuilds the baseline from the checkpoint; a different --model or --num_heads is refused.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "2");
        Assert.True(code == 0, text);
        Assert.Equal(2, CheckpointFile.ReadManifest(final).State.CompletedEpochs);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "3", "--model", "new-llm");
        Assert.Equal(1, code);
        Assert.Contains("holds a transformer model", text, StringComparison.Ordinal);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "3", "--num_heads", "4");
        Assert.Equal(1, code);
        Assert.Contains("--num_heads 4 differs from the checkpoint's 2", text, StringComparison.Ordinal);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "evaluate", "--checkpoint", final, "--batch_size", "8");
        Assert.True(code == 0, text);
        Assert.Contains("transformer_baseline: VocabSize=", text, StringComparison.Ordinal);
        Assert.Contains("  Loss=", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MatchParamsOfPrintsBothCountsWithinFivePercentAndNewLlmOptionsAreRefusedByName()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 40, testRows: 8);
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--model", "transformer", "--match-params-of", "num_layers=1,context_dim=64", "--data-dir", data, "--subset", "harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", temp.Combine("matched"));
        Assert.True(code == 0, text);
        string line = text.Split('\n').Single(l => l.StartsWith("Parameters: New-LLM (num_layers=1,context_dim=64", StringComparison.Ordinal));
        double difference = double.Parse(line[(line.LastIndexOf('(') + 1)..line.LastIndexOf('%')], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(difference, -5.0, 5.0);

        // Resumed, the same --match-params-of is the same model (as the same command again passes it); another is refused.
        string matchedFinal = Path.Combine(temp.Combine("matched"), "transformer_hh_rlhf_layers1_final.pt");
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", matchedFinal, "--match-params-of", "num_layers=1,context_dim=64", "--epochs", "1");
        Assert.True(code == 0, text);
        Assert.Contains("Nothing to train", text, StringComparison.Ordinal);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", matchedFinal, "--match-params-of", "num_layers=1,context_dim=256", "--epochs", "2");
        Assert.Equal(1, code);
        Assert.Contains("a resumed run keeps its model", text, StringComparison.Ordinal);

        foreach ((string[] options, string refusal) in new (string[], string)[]
        {
            (["--match-params-of", ""], "names no New-LLM size"),
            (["--match-params-of", "num_layers=1,num_layers=2"], "gives num_layers twice"),
            (["--num_heads", "3"], "--num_heads 3 does not divide the baseline's embedding width 256"),
        })
        {
            (code, text) = await ToolProcess.RunAsync(temp.Path, ["train", "--model", "transformer", "--data-dir", data, "--output", temp.Combine("refused"), .. options]);
            Assert.Equal(1, code);
            Assert.Contains(refusal, text, StringComparison.Ordinal);
        }

        foreach (string[] option in new[] { new[] { "--context_dim", "64" }, ["--expand-context", "512"], ["--freeze-base-dims"] })
        {
            (code, text) = await ToolProcess.RunAsync(temp.Path, ["train", "--model", "transformer", "--data-dir", data, "--output", temp.Combine("refused"), .. option]);
            Assert.Equal(1, code);
            Assert.Contains($"{option[0]} is a New-LLM option", text, StringComparison.Ordinal);
        }

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--num_heads", "4", "--data-dir", data, "--output", temp.Combine("refused"));
        Assert.Equal(1, code);
        Assert.Contains("--num_heads is for --model transformer", text, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("refused")));
    }

    [Fact]
    public async Task CompareTrainsBothModelsAlikeAndWritesTheTableAndThePlot()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 40, testRows: 8);
        string output = temp.Combine("comparison");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "compare", "--data-dir", data, "--subset", "harmless", "--epochs", "2", "--batch_size", "16", "--max_seq_length", "24", "--context_dim", "64", "--num_heads", "2", "--output", output);
        Assert.True(code == 0, text);

        string[] rows = File.ReadAllLines(Path.Combine(output, "comparison.md")).Where(l => l.StartsWith("| New-LLM", StringComparison.Ordinal) || l.StartsWith("| Transformer", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, rows.Length);
        long[] parameters = rows.Select(r => long.Parse(r.Split('|')[2].Trim(), System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.InRange(Math.Abs(parameters[1] - parameters[0]) / (double)parameters[0], 0.0, 0.05);
        Assert.All(rows, r => Assert.DoesNotContain("n/a", r, StringComparison.Ordinal)); // PPL, accuracy, tokens/s and peak RSS measured for both

        // Generation measured for both: New-LLM's state the same at every length, the Transformer's key/value cache growing with it.
        string[] State(string row) => row.Split('|')[10].Split('/').Select(part => part.Trim().Split(" (")[0]).ToArray();
        Assert.Single(State(rows[0]).Distinct());
        string[] cache = State(rows[1]);
        Assert.Equal(3, cache.Distinct().Count());
        Assert.EndsWith("MiB", cache[2], StringComparison.Ordinal);

        // The same data, epochs, batch size, learning rate and seed for both runs.
        CheckpointManifest newLlm = CheckpointFile.ReadManifest(Directory.GetFiles(Path.Combine(output, "new-llm"), "*_final.pt").Single());
        CheckpointManifest transformer = CheckpointFile.ReadManifest(Directory.GetFiles(Path.Combine(output, "transformer"), "*_final.pt").Single());
        Assert.Equal(("new_llm", "transformer_baseline"), (newLlm.ModelType, transformer.ModelType));
        foreach (string key in new[] { "epochs", "batch_size", "learning_rate", "seed", "data_sha256", "tokenizer", "max_seq_length" })
        {
            Assert.Equal(newLlm.TrainerOptions[key]!.ToJsonString(), transformer.TrainerOptions[key]!.ToJsonString());
        }

        Assert.Equal(newLlm.TokenizerFingerprint, transformer.TokenizerFingerprint);
        byte[] png = File.ReadAllBytes(Path.Combine(output, "comparison.png"));
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);
    }
}
