using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using NewLlm.Training;

namespace NewLlm.Cli.Tests;

/// <summary>
/// <c>newllm train</c> on HH-RLHF used as a person uses it: Ctrl-C and SIGTERM in the middle, the shortest resume command,
/// the same output folder twice, two runs at once, typos. Each test runs the built tool as a child process on a
/// small HH-RLHF folder written here.
/// </summary>
[Trait("Category", "Slow")]
public sealed class TrainHhRlhfTests
{
    private const string Model = "new_llm_hh_rlhf_layers1";

    [SkippableTheory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public async Task ASignalFinishesTheStepWritesTheInterruptCheckpointAndExitsWith128PlusTheSignal(string signal, int exitCode)
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals");
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 3000); // batches of 1: an epoch takes seconds
        string output = temp.Combine("out");
        using (ChildProgram run = ToolProcess.Start(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--epochs", "1000", "--batch_size", "1", "--max_seq_length", "24", "--output", output))
        {
            await run.WaitForOutputAsync("Epoch 1/", TimeSpan.FromMinutes(2));
            await Task.Delay(1000);
            run.Signal(signal);
            int code = await run.WaitForExitAsync(TimeSpan.FromMinutes(1));
            Assert.True(code == exitCode, $"exit code {code}; output:\n{run.Output}");
            Assert.Contains($"[Interrupted: checkpoint saved to {Path.Combine(output, Model + "_interrupted.pt")}]", run.Output, StringComparison.Ordinal);
        }

        CheckpointManifest manifest = CheckpointFile.ReadManifest(Path.Combine(output, Model + "_interrupted.pt"));
        Assert.True(manifest.State.BatchesIntoEpoch > 0, "the checkpoint is in the middle of an epoch");
        int completed = manifest.State.CompletedEpochs;
        Assert.False(File.Exists(Path.Combine(output, RunDirectory.LockFileName)));

        // The shortest resume finishes the interrupted epoch with the interrupted run's settings.
        string total = (completed + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        (int resumed, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", Path.Combine(output, Model + "_interrupted.pt"), "--epochs", total);
        Assert.True(resumed == 0, text);
        Assert.Contains($"except --epochs 1000 -> {total}.", text, StringComparison.Ordinal);
        Assert.Equal(completed + 1, CheckpointFile.ReadManifest(Path.Combine(output, Model + "_final.pt")).State.CompletedEpochs);
        Assert.False(File.Exists(Path.Combine(output, Model + "_interrupted.pt"))); // superseded by the final checkpoint, so never resumed by mistake
    }

    [SkippableFact]
    public async Task ASignalDeliveredTwiceAsTimeoutDoesIsOneRequestAndTheInterruptCheckpointIsWritten()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals");
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 3000);
        string output = temp.Combine("out");
        string interrupted = Path.Combine(output, Model + "_interrupted.pt");
        using (ChildProgram run = ToolProcess.Start(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--epochs", "1000", "--batch_size", "1", "--max_seq_length", "24", "--output", output))
        {
            await run.WaitForOutputAsync("Epoch 1/", TimeSpan.FromMinutes(2));
            run.SignalTwice("TERM"); // timeout(1): the child, then its process group
            int code = await run.WaitForExitAsync(TimeSpan.FromMinutes(1));
            Assert.True(code == 143, $"exit code {code}; output:\n{run.Output}");
            Assert.Contains("[SIGTERM again within 2 s: taken as the same request; still stopping]", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("quitting at once", run.Output, StringComparison.Ordinal);
            Assert.Contains($"[Interrupted: checkpoint saved to {interrupted}]", run.Output, StringComparison.Ordinal);
        }

        Assert.True(CheckpointFile.ReadManifest(interrupted).State.GlobalStep > 0);
        Assert.False(File.Exists(Path.Combine(output, RunDirectory.LockFileName)));
    }

    [SkippableFact]
    public async Task ASecondSignalAfterTheRepeatWindowQuitsAtOnceWithoutACheckpoint()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals");
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 5000);
        string output = temp.Combine("out");
        using ChildProgram run = ToolProcess.Start(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--epochs", "1000", "--batch_size", "5000", "--output", output);
        await run.WaitForOutputAsync("Epoch 1/", TimeSpan.FromMinutes(2));
        run.Signal("INT");
        await run.WaitForOutputAsync("[SIGINT: stopping", TimeSpan.FromMinutes(2)); // one step of 5,000 rows takes many seconds
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // past the window in which a repeat is the same request
        run.Signal("INT");
        int code = await run.WaitForExitAsync(TimeSpan.FromMinutes(1));
        Assert.True(code == 130, $"exit code {code}; output:\n{run.Output}");
        Assert.True(run.Output.Contains("again: quitting at once", StringComparison.Ordinal), run.Output);
        Assert.False(File.Exists(Path.Combine(output, Model + "_interrupted.pt")));
    }

    [Fact]
    public async Task ACheckpointThatCannotBeWrittenIsNamedWithTheIntactBestAndTheCheckpointToResumeFrom()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path); // 13 steps of 16 rows per epoch
        string output = temp.Combine("out");
        string best = Path.Combine(output, $"best_{Model}.pt");
        string step12 = Path.Combine(output, Model + "_step_12.pt");

        // A folder where step 16's checkpoint goes: its rename into place fails as a write on a full disk does, every time.
        string blocked = Path.Combine(output, Model + "_step_16.pt");
        Directory.CreateDirectory(blocked);
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--epochs", "3", "--batch_size", "16", "--max_seq_length", "24", "--output", output, "--checkpoint-every", "4steps");
        Assert.True(code == 1, text);
        string error = Assert.Single(text.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal)).Trim();
        Assert.StartsWith($"error: The checkpoint {blocked} could not be written (", error, StringComparison.Ordinal);
        Assert.Contains($"Nothing was lost: checkpoints are written to a temporary file and renamed, so the previous best, {best}, and every checkpoint written before are intact.", error, StringComparison.Ordinal);
        Assert.EndsWith($"then resume from {step12}.", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);

        // What it says holds: the checkpoints it names are whole, no temporary file or lock is left.
        Assert.Equal(12, CheckpointFile.ReadManifest(step12).State.GlobalStep);
        Assert.Equal(1, CheckpointFile.ReadManifest(best).State.CompletedEpochs);
        Assert.Empty(Directory.GetFiles(output, ".*"));

        // With the space back, the command it suggests continues the run.
        Directory.Delete(blocked);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", step12, "--epochs", "2");
        Assert.True(code == 0, text);
        Assert.Equal(2, CheckpointFile.ReadManifest(Path.Combine(output, Model + "_final.pt")).State.CompletedEpochs);
    }

    [Fact]
    public async Task ARefusedCheckpointIsOneErrorLineNamingItAndLeavesNoFolderCacheOrLockBehind()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path);
        string output = temp.Combine("out");
        string final = Path.Combine(output, Model + "_final.pt");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", output);
        Assert.True(code == 0, text);

        // What a person passes by mistake, in a folder of its own (the default --output of a resumed run).
        string incoming = temp.Combine("incoming");
        Directory.CreateDirectory(incoming);
        byte[] bytes = await File.ReadAllBytesAsync(final);
        string truncated = Path.Combine(incoming, "truncated.pt");
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length / 2)]);
        string corrupt = Path.Combine(incoming, "corrupt.pt");
        byte[] flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(corrupt, flipped);
        string notes = Path.Combine(incoming, "notes.txt");
        await File.WriteAllTextAsync(notes, "not a checkpoint");
        string json = Path.Combine(incoming, "progress.json");
        File.Copy(Path.Combine(output, Model + "_progress.json"), json);
        string reshaped = Path.Combine(incoming, "reshaped.pt"); // whole and hashed, but its weights are not of the shape it records
        WriteWithContextDim(final, reshaped, 512);
        string weightsOnly = Path.Combine(incoming, "weights.pt"); // a state dict (SavePyTorch): weights, no run to resume
        using (NewLlmModel weights = (NewLlmModel)CheckpointFile.LoadModel(final))
        {
            weights.SavePyTorch(weightsOnly);
        }

        string[] files = [.. Directory.GetFiles(incoming).Order(StringComparer.Ordinal)];

        string elsewhere = temp.Combine("elsewhere");
        foreach (string bad in files)
        {
            (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", bad, "--epochs", "2", "--output", elsewhere);
            AssertRefused(bad, code, text);
            Assert.False(Directory.Exists(elsewhere), $"--resume {bad} left {elsewhere}");
        }

        foreach (string bad in new[] { corrupt, reshaped })
        {
            (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", bad, "--epochs", "2");
            AssertRefused(bad, code, text);
            Assert.Equal(files, Directory.GetFileSystemEntries(incoming).Order(StringComparer.Ordinal));
        }

        // A resume refused for its data, and one with nothing to train, leave nothing either.
        TinyHhRlhfFolder.Create(temp.Combine("other"), trainRows: 150);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "2", "--data-dir", temp.Combine("other", "data"), "--output", elsewhere);
        Assert.True(code == 1, text);
        Assert.Contains("are not the data", text, StringComparison.Ordinal);
        Assert.False(Directory.Exists(elsewhere));
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--output", elsewhere);
        Assert.True(code == 0, text);
        Assert.StartsWith("Nothing to train", text, StringComparison.Ordinal);
        Assert.False(Directory.Exists(elsewhere));

        static void AssertRefused(string file, int code, string text)
        {
            Assert.True(code == 1, $"--resume {file}: exit code {code}; output:\n{text}");
            string line = Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.StartsWith("error: ", line, StringComparison.Ordinal);
            Assert.Contains(file, line, StringComparison.Ordinal);
        }
    }

    // A copy of a checkpoint whose manifest records another context size, with the manifest's hash made to match: a file
    // every hash accepts, but whose weights do not fit the model it describes.
    internal static void WriteWithContextDim(string source, string destination, int contextDim)
    {
        using ZipArchive from = ZipFile.OpenRead(source);
        using ZipArchive to = ZipFile.Open(destination, ZipArchiveMode.Create);
        JsonNode manifest = JsonNode.Parse(Read(from.GetEntry("archive/newllm/manifest.json")!))!;
        manifest["model_options"]!["context_dim"] = contextDim;
        byte[] manifestBytes = System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString());
        foreach (ZipArchiveEntry entry in from.Entries)
        {
            byte[] content = entry.FullName switch
            {
                "archive/newllm/manifest.json" => manifestBytes,
                "archive/newllm/manifest.sha256" => System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(manifestBytes))),
                _ => Read(entry),
            };
            using Stream stream = to.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
            stream.Write(content);
        }

        static byte[] Read(ZipArchiveEntry entry)
        {
            using Stream stream = entry.Open();
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            return memory.ToArray();
        }
    }

    [Fact]
    public async Task AResumeKeepsTheCheckpointsSettingsRefusesDifferentDataAndNamesWhatChanged()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path);
        string output = temp.Combine("out");
        string final = Path.Combine(output, Model + "_final.pt");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--subset", "Harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--seed", "5", "--lr", "0.001", "--output", output);
        Assert.True(code == 0, text);

        // The natural command: the checkpoint and a new total, nothing else.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "2");
        Assert.True(code == 0, text);
        Assert.Contains("its settings are kept except --epochs 1 -> 2.", text, StringComparison.Ordinal);
        JsonObject options = CheckpointFile.ReadManifest(final).TrainerOptions;
        Assert.Equal(16, (int)options["batch_size"]!);
        Assert.Equal(5, (int)options["seed"]!);
        Assert.Equal(0.001, (double)options["learning_rate"]!);
        Assert.Equal(2, (int)options["epochs"]!);
        Assert.Equal("harmless", (string)options["subset"]!);
        Assert.Equal("24", options["max_seq_length"]!.ToString());
        Assert.Equal(data, (string)options["data_dir"]!);

        // Settings of how the run goes on are applied with a note, and the trainer's warnings reach the console.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "3", "--lr", "0.002", "--seed", "6");
        Assert.True(code == 0, text);
        Assert.Contains("except --epochs 2 -> 3, --lr 0.001 -> 0.002, --seed 5 -> 6.", text, StringComparison.Ordinal);
        Assert.Contains("warning: The checkpoint was trained with seed 5", text, StringComparison.Ordinal);

        // What the run is cannot change.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "4", "--max_seq_length", "64");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --max_seq_length 64 differs from the checkpoint's 24", text, StringComparison.Ordinal);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "4", "--subset", "helpful");
        Assert.Equal(1, code);
        Assert.StartsWith($"error: --resume {final} continues a run on HH-RLHF harmless, not HH-RLHF helpful.", text, StringComparison.Ordinal);

        // The same rows in another folder may be used; other rows may not.
        string moved = temp.Combine("moved");
        Directory.Move(data, moved);
        File.WriteAllText(Path.Combine(moved, "harmless-base", "unrelated.txt"), "not data");
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "4", "--data-dir", moved);
        Assert.True(code == 0, text);
        TinyHhRlhfFolder.Create(temp.Combine("other"), trainRows: 150);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "5", "--data-dir", temp.Combine("other", "data"));
        Assert.Equal(1, code);
        Assert.Contains("are not the data", text, StringComparison.Ordinal);

        // Nothing left to do is said as such, and nothing is rewritten.
        DateTime written = File.GetLastWriteTimeUtc(final);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final);
        Assert.Equal(0, code);
        Assert.StartsWith($"Nothing to train: {final} has completed 4 of 4 epochs.", text, StringComparison.Ordinal);
        Assert.Equal(written, File.GetLastWriteTimeUtc(final));
    }

    [SkippableFact]
    public async Task ABf16RunSaysSoRecordsItAndAResumeKeepsItUnlessToldOtherwise()
    {
        Skip.IfNot(TorchBackend.HasFastBFloat16(TorchSharp.torch.CPU), "This CPU has no native bfloat16: --precision bf16-mixed is refused here.");
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path);
        string output = temp.Combine("out");
        string final = Path.Combine(output, Model + "_final.pt");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", output, "--precision", "bf16-mixed");
        Assert.True(code == 0, text);
        Assert.Contains("bf16 mixed precision", text, StringComparison.Ordinal);
        Assert.Equal("BFloat16Mixed", (string)CheckpointFile.ReadManifest(final).TrainerOptions["precision"]!);

        // The shortest resume keeps it; an explicit change is applied and named.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "2");
        Assert.True(code == 0, text);
        Assert.Contains("its settings are kept except --epochs 1 -> 2.", text, StringComparison.Ordinal);
        Assert.Equal("BFloat16Mixed", (string)CheckpointFile.ReadManifest(final).TrainerOptions["precision"]!);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "3", "--precision", "fp32");
        Assert.True(code == 0, text);
        Assert.Contains("except --epochs 2 -> 3, --precision bf16-mixed -> fp32.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("bf16 mixed precision", text, StringComparison.Ordinal);
        Assert.Contains(", weight decay 0, float32", text, StringComparison.Ordinal);   // the header names the precision either way
        Assert.Equal("Float32", (string)CheckpointFile.ReadManifest(final).TrainerOptions["precision"]!);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--precision", "bf16");
        Assert.Equal(1, code);
        Assert.StartsWith("--precision takes fp32 or bf16-mixed, not 'bf16'.", text, StringComparison.Ordinal); // System.CommandLine's error line
    }

    [Fact]
    public async Task ARunContinuesFromTheOriginalTrainersCheckpointRebuildingItsVocabularyAndLeavingItsFilesAlone()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path);
        string ours = temp.Combine("ours");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", ours);
        Assert.True(code == 0, text);

        // The original trainer's layout: the same PyTorch dict without NewLlm's records (no manifest, no vocabulary).
        string pythonRun = temp.Combine("python-run");
        Directory.CreateDirectory(pythonRun);
        string original = Path.Combine(pythonRun, $"best_{Model}.pt");
        double originalValidationLoss;
        using (PyTorchCheckpoint checkpoint = PyTorchCheckpoint.Read(Path.Combine(ours, Model + "_final.pt")))
        {
            checkpoint.Config = new Dictionary<string, object?> { ["num_layers"] = 1, ["max_seq_length"] = 24 };
            checkpoint.Write(original);
            originalValidationLoss = checkpoint.ValLosses[0];
        }

        Assert.True(CheckpointFile.IsOriginalCheckpoint(original));
        byte[] before = await File.ReadAllBytesAsync(original);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", original, "--data-dir", data, "--subset", "harmless", "--epochs", "2", "--batch_size", "16");
        Assert.True(code == 0, text);
        Assert.Contains($"Resuming the original New-LLM checkpoint best_{Model}.pt: 1 epoch(s) completed", text, StringComparison.Ordinal);
        Assert.Contains("its vocabulary is rebuilt from the training data", text, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(original));
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", original, "--data-dir", data, "--subset", "harmless", "--epochs", "3", "--tokenizer", "gpt2");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --tokenizer gpt2 differs from the checkpoint's word", text, StringComparison.Ordinal);

        CheckpointManifest continued = CheckpointFile.ReadManifest(Path.Combine(pythonRun, "newllm", Model + "_final.pt"));
        Assert.Equal(2, continued.State.CompletedEpochs);
        Assert.Equal(originalValidationLoss, continued.State.History[0].Validation!.BatchMeanLoss);
        Assert.Equal(24, (int)continued.TrainerOptions["max_seq_length"]!);

        // Both worlds' checkpoints are measured alike: the same weights give the same figures.
        // Ours without --data-dir: the folder its checkpoint was trained on.
        (code, string ourFigures) = await ToolProcess.RunAsync(temp.Path, "evaluate", "--checkpoint", Path.Combine(ours, Model + "_final.pt"), "--batch_size", "16");
        Assert.True(code == 0, ourFigures);
        (code, string originalFigures) = await ToolProcess.RunAsync(temp.Path, "evaluate", "--checkpoint", original, "--data-dir", data, "--subset", "harmless", "--batch_size", "16");
        Assert.True(code == 0, originalFigures);
        Assert.Contains("(the original trainer's checkpoint, 1 layer(s)", originalFigures, StringComparison.Ordinal);
        Assert.Contains("max_seq_length 24", originalFigures, StringComparison.Ordinal); // from the original's config
        string Figures(string output) => output.Split('\n').Single(l => l.StartsWith("  Loss=", StringComparison.Ordinal)).Trim();
        Assert.Equal(Figures(ourFigures), Figures(originalFigures));
        // The checkpoint's val_losses hold the original's figure: the batch mean, at the training's batch size.
        Assert.Contains(FormattableString.Invariant($"batch mean: Loss={originalValidationLoss:F4}"), Figures(originalFigures), StringComparison.Ordinal);

        // Chat opens the original's checkpoint when told where its vocabulary comes from.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "chat", "--checkpoint", original, "--prompt", "hello");
        Assert.Equal(1, code);
        Assert.Contains("holds no vocabulary (an original New-LLM checkpoint): give --data-dir", text, StringComparison.Ordinal);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "chat", "--checkpoint", original, "--data-dir", data, "--subset", "harmless", "--prompt", "hello", "--seed", "1", "--max-tokens", "5");
        Assert.True(code == 0, text);
        Assert.Contains("Assistant:", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSameOutputFolderTwiceIsRefusedUnlessOverwriteAndAFolderInUseIsRefused()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path);
        string output = temp.Combine("out");
        string[] run = ["--data-dir", data, "--subset", "harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", output];
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, ["train", .. run]);
        Assert.True(code == 0, text);
        byte[] best = await File.ReadAllBytesAsync(Path.Combine(output, $"best_{Model}.pt"));

        (code, text) = await ToolProcess.RunAsync(temp.Path, ["train", .. run]);
        Assert.Equal(1, code);
        Assert.StartsWith($"error: --output {output} already holds the results of an earlier {Model} run", text, StringComparison.Ordinal);
        Assert.Contains($"Continue it with --resume {Path.Combine(output, Model + "_final.pt")}, replace it with --overwrite, or choose another --output.", text, StringComparison.Ordinal);
        Assert.Equal(best, await File.ReadAllBytesAsync(Path.Combine(output, $"best_{Model}.pt")));

        (code, text) = await ToolProcess.RunAsync(temp.Path, ["train", .. run, "--overwrite", "--seed", "9"]);
        Assert.True(code == 0, text);
        Assert.NotEqual(best, await File.ReadAllBytesAsync(Path.Combine(output, $"best_{Model}.pt")));

        // While a run trains, a second run into its folder is refused at once, naming the first.
        string busy = temp.Combine("busy");
        using ChildProgram first = ToolProcess.Start(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--epochs", "1000", "--batch_size", "1", "--max_seq_length", "24", "--output", busy);
        await first.WaitForOutputAsync("Epoch 1/", TimeSpan.FromMinutes(2));
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--output", busy, "--overwrite");
        Assert.Equal(1, code);
        Assert.StartsWith($"error: --output {busy} is in use by process {first.Id}", text, StringComparison.Ordinal);
        first.Signal("INT");
        Assert.Equal(130, await first.WaitForExitAsync(TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task CheckpointEveryStepsWritesTheNewestStepCheckpointAndMistakesGetOneClearLine()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path);
        string output = temp.Combine("out");
        string[] run = ["--data-dir", data, "--subset", "harmless-base", "--epochs", "1000", "--batch_size", "16", "--max_seq_length", "24", "--output", output, "--checkpoint-every", "4steps"];
        using (ChildProgram crashing = ToolProcess.Start(temp.Path, ["train", .. run]))
        {
            await crashing.WaitForOutputAsync("Epoch 3/", TimeSpan.FromMinutes(2)); // 13 steps per epoch
            crashing.Signal("KILL"); // a crash: no interrupt checkpoint, only the step checkpoints
            await crashing.WaitForExitAsync(TimeSpan.FromMinutes(1));
        }

        string step = Assert.Single(Directory.GetFiles(output, "*_step_*.pt"));
        long steps = CheckpointFile.ReadManifest(step).State.GlobalStep;
        Assert.True(steps >= 24 && steps % 4 == 0, $"{step} at step {steps}");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, ["train", .. run]);
        Assert.Equal(1, code);
        Assert.Contains($"Continue it with --resume {step}, replace it with --overwrite", text, StringComparison.Ordinal);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--checkpoint-every", "4stpes");
        Assert.Equal(1, code);
        Assert.StartsWith("--checkpoint-every takes N (epochs), Nepochs or Nsteps, for example 2 or 500steps, not '4stpes'.", text, StringComparison.Ordinal);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--epoch", "3");
        Assert.Equal(1, code);
        Assert.Contains("'--epoch' was not matched. Did you mean one of the following?", text, StringComparison.Ordinal); // System.CommandLine's suggestion
        Assert.Contains("\n--epochs\n", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", Path.Combine(output, Model + "_final.pt"), "--overwrite");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --overwrite starts a fresh run over earlier results; it cannot be combined with --resume", text, StringComparison.Ordinal);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--subset", "harmles");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --subset 'harmles' is not an HH-RLHF subset; expected one of helpful, harmless, helpful-online, helpful-rejection-sampled, all (or a Hub folder name:", text.Trim(), StringComparison.Ordinal);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", output);
        Assert.Equal(1, code);
        Assert.StartsWith($"error: --resume {output} is a folder; give a checkpoint file in it, for example {step}, the one that has trained furthest", text, StringComparison.Ordinal);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "evaluate", "--checkpoint", output);
        Assert.Equal(1, code);
        Assert.StartsWith($"error: --checkpoint {output} is a folder; give a checkpoint file in it, for example {step}, the one that has trained furthest", text, StringComparison.Ordinal);

        string file = temp.Combine("notes.txt");
        File.WriteAllText(file, "a file");
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--output", Path.Combine(file, "run"));
        Assert.Equal(1, code);
        Assert.Equal($"error: --output {Path.Combine(file, "run")}: '{file}' is a file, so there can be no folder under it. Choose another --output.", text.Trim());

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", data, "--subset", "harmless", "--batch_size", "0", "--output", temp.Combine("zero"));
        Assert.Equal(1, code);
        Assert.Equal("error: --batch_size must be at least 1, but is 0.", text.Trim());
    }
}
