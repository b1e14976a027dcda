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
    public async Task CompareTrainsBothModelsAlikeWritesTheTableAndThePlotAndTheSameCommandUsesTheFinishedRuns()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 40, testRows: 8);
        string output = temp.Combine("comparison");
        string[] command = ["compare", "--data-dir", data, "--subset", "harmless", "--epochs", "2", "--batch_size", "16", "--max_seq_length", "24", "--context_dim", "64", "--num_heads", "2", "--output", output];
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, command);
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
        Assert.StartsWith("### New-LLM vs Transformer (hh-rlhf/harmless, 2 epochs, seed 1)", File.ReadAllText(Path.Combine(output, "comparison.md")), StringComparison.Ordinal);

        // The same command again uses both finished runs (their checkpoints untouched, nothing trained) and writes the table again.
        string[] finals = [.. new[] { "new-llm", "transformer" }.Select(folder => Directory.GetFiles(Path.Combine(output, folder), "*_final.pt").Single())];
        DateTime[] written = [.. finals.Select(File.GetLastWriteTimeUtc)];
        File.Delete(Path.Combine(output, "comparison.md"));
        (code, text) = await ToolProcess.RunAsync(temp.Path, command);
        Assert.True(code == 0, text);
        Assert.Contains($"== New-LLM: the run in {Path.Combine(output, "new-llm")} finished with these settings", text, StringComparison.Ordinal);
        Assert.Contains($"== Transformer: the run in {Path.Combine(output, "transformer")} finished with these settings", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Epoch 1/", text, StringComparison.Ordinal);
        Assert.Equal(written, finals.Select(File.GetLastWriteTimeUtc));
        string[] again = File.ReadAllLines(Path.Combine(output, "comparison.md")).Where(l => l.StartsWith("| New-LLM", StringComparison.Ordinal) || l.StartsWith("| Transformer", StringComparison.Ordinal)).ToArray();
        Assert.Equal(rows.Select(r => string.Join('|', r.Split('|')[2..9])), again.Select(r => string.Join('|', r.Split('|')[2..9]))); // parameters, PPL, accuracy, training tokens/s, peak RSS, wall-clock: the runs' own

        // Other settings over the same --output are refused, naming each difference, and nothing is deleted.
        string[] other = [.. command];
        other[Array.IndexOf(other, "--epochs") + 1] = "3";
        (code, text) = await ToolProcess.RunAsync(temp.Path, [.. other, "--seed", "7"]);
        Assert.Equal(1, code);
        Assert.Contains($"error: --output {output} holds an earlier New-LLM run (new_llm_hh_rlhf_layers1_context64_final.pt) with other settings than this command's: --epochs 3 here, 2 there; --seed 7 here, 1 there.", text, StringComparison.Ordinal);
        Assert.Contains("pass --overwrite to train both models afresh", text, StringComparison.Ordinal);
        Assert.All(finals, f => Assert.True(File.Exists(f)));
        Assert.True(File.Exists(Path.Combine(output, "comparison.md")));
    }

    [SkippableFact]
    public async Task CompareCtrlCSavesTheRunInProgressExitsWith130AndTheSameCommandContinuesItAndWritesTheTable()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals");
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 400, testRows: 8); // batches of 1: the epoch takes about 25 s, time to interrupt it
        string output = temp.Combine("comparison");
        string[] command = ["compare", "--data-dir", data, "--subset", "harmless", "--epochs", "1", "--batch_size", "1", "--output", output];
        string interrupted = Path.Combine(output, "new-llm", "new_llm_hh_rlhf_layers1_interrupted.pt");
        using (ChildProgram run = ToolProcess.Start(temp.Path, command))
        {
            await run.WaitForOutputAsync("Epoch 1/", TimeSpan.FromMinutes(2));
            await Task.Delay(1000);
            run.Signal("INT"); // this process only: it passes the signal on to the run in progress
            int code = await run.WaitForExitAsync(TimeSpan.FromMinutes(1));
            Assert.True(code == 130, $"exit code {code}; output:\n{run.Output}");
            Assert.Contains($"[Interrupted: checkpoint saved to {interrupted}]", run.Output, StringComparison.Ordinal);
            Assert.Contains("[Comparison interrupted during the New-LLM run: run the same command again to continue it]", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("nothing to save", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("== Transformer", run.Output, StringComparison.Ordinal);
        }

        Assert.True(CheckpointFile.ReadManifest(interrupted).State.BatchesIntoEpoch > 0, "the checkpoint is in the middle of the epoch");
        Assert.False(File.Exists(Path.Combine(output, "comparison.md")));
        (int resumed, string text) = await ToolProcess.RunAsync(temp.Path, command);
        Assert.True(resumed == 0, text);
        Assert.Contains("== New-LLM: continuing the interrupted run from new_llm_hh_rlhf_layers1_interrupted.pt", text, StringComparison.Ordinal);
        Assert.Contains("Resuming new_llm_hh_rlhf_layers1_interrupted.pt:", text, StringComparison.Ordinal);
        Assert.Equal(1, CheckpointFile.ReadManifest(Path.Combine(output, "new-llm", "new_llm_hh_rlhf_layers1_final.pt")).State.CompletedEpochs);
        Assert.False(File.Exists(interrupted));
        string table = File.ReadAllText(Path.Combine(output, "comparison.md"));
        Assert.StartsWith("### New-LLM vs Transformer (hh-rlhf/harmless, 1 epoch, seed 1)", table, StringComparison.Ordinal);
        Assert.Equal(2, table.Split('\n').Count(l => l.StartsWith("| New-LLM", StringComparison.Ordinal) || l.StartsWith("| Transformer", StringComparison.Ordinal)));
    }
}
