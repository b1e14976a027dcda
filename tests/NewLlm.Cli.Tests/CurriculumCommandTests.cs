using System.Text.Json.Nodes;
using NewLlm.Training;

namespace NewLlm.Cli.Tests;

/// <summary><c>newllm curriculum</c> as a person runs it, on small files written here: two levels, the summary, the same command again, mistakes.</summary>
[Trait("Category", "Slow")]
public sealed class CurriculumCommandTests
{
    [Fact]
    public async Task TwoLevelsFromLocalFoldersEndWithTheSummaryAndTheSecondStartsFromTheFirstsBestCheckpoint()
    {
        using var temp = new TempDirectory();
        string dolly = TinyDialogueFiles.Dolly(temp.Path, rows: 300);
        string hh = TinyHhRlhfFolder.Create(temp.Path); // harmless-base only: the level reads that subset and says so
        string[] command = ["curriculum", "--levels", "dolly,hh-rlhf", "--max_samples", "300", "--epochs", "1", "--batch_size", "32", "--data-dir", $"dolly={dolly}", "--data-dir", $"hh-rlhf={hh}"];
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, command);

        Assert.True(code == 0, text);
        Assert.Contains("holds no helpful-base but one other subset: using harmless.", text, StringComparison.Ordinal);
        Assert.Contains("--epochs/--max_samples shorten the plan", text, StringComparison.Ordinal);
        string output = temp.Combine("curriculum");
        string firstBest = Path.Combine(output, "01-dolly", "best_new_llm_dolly_layers1.pt");
        string secondBest = Path.Combine(output, "02-hh-rlhf", "best_new_llm_hh_rlhf_layers1.pt");
        string[] lines = text.Split('\n').Select(l => l.TrimEnd()).ToArray();
        int table = Array.FindIndex(lines, l => l.StartsWith("level ", StringComparison.Ordinal));
        Assert.True(table > 0, text);
        Assert.Matches(@"^level\s+data set\s+PPL\s+Acc\s+cleared\?\s+time\s+checkpoint$", lines[table]);
        Assert.Matches(@"^1 dolly\s+Dolly-15k \(0\.0% unk\)\s+[0-9.]+\s+[0-9.]+%\s+no \(< 17\)\s+00:00:\d\d\s+" + System.Text.RegularExpressions.Regex.Escape(firstBest) + "$", lines[table + 1]);
        Assert.StartsWith("2 hh-rlhf  HH-RLHF harmless", lines[table + 2], StringComparison.Ordinal);
        Assert.Contains($"Summary: {Path.Combine(output, "curriculum.json")}, {Path.Combine(output, "curriculum_ppl.png")}", text, StringComparison.Ordinal);
        Assert.True(new FileInfo(Path.Combine(output, "curriculum_ppl.png")).Length > 1000);

        // Level 2 is a normal run from level 1's best checkpoint, which evaluate and chat read like any other.
        CheckpointManifest second = CheckpointFile.ReadManifest(secondBest);
        Assert.Equal(firstBest, (string?)second.TrainerOptions["from_checkpoint"]);
        Assert.Equal("hh-rlhf", (string?)second.TrainerOptions["dataset"]);
        Assert.Equal(300, (int?)second.TrainerOptions["max_samples"]);
        JsonNode state = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output, "curriculum.json")))!;
        Assert.Equal([firstBest, secondBest], state["levels"]!.AsArray().Select(l => (string?)l!["best_checkpoint"]));

        // The same command again says the curriculum is finished and prints the summary; other options are refused.
        (code, text) = await ToolProcess.RunAsync(temp.Path, command);
        Assert.True(code == 0, text);
        Assert.Contains("The curriculum in curriculum was finished by an earlier run; its summary:", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Epoch 1/1", text, StringComparison.Ordinal);
        (code, text) = await ToolProcess.RunAsync(temp.Path, [.. command.Select(a => a == "32" ? "16" : a)]);
        Assert.Equal(1, code);
        Assert.Contains("which differs in options.batch_size: 32 before, 16 now.", text, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task CtrlCSavesTheLevelsCheckpointExitsWith130AndTheSameCommandResumesThere()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals");
        using var temp = new TempDirectory();
        string hh = TinyHhRlhfFolder.Create(temp.Path, trainRows: 400); // batches of 1: the epoch takes about 25 s, time to interrupt it
        string[] command = ["curriculum", "--levels", "hh-rlhf", "--epochs", "1", "--batch_size", "1", "--data-dir", $"hh-rlhf={hh}"];
        string interrupted = temp.Combine("curriculum", "01-hh-rlhf", "new_llm_hh_rlhf_layers1_interrupted.pt");
        using (ChildProgram run = ToolProcess.Start(temp.Path, command))
        {
            await run.WaitForOutputAsync("Epoch 1/", TimeSpan.FromMinutes(2));
            await Task.Delay(1000);
            run.Signal("INT");
            int code = await run.WaitForExitAsync(TimeSpan.FromMinutes(1));
            Assert.True(code == 130, $"exit code {code}; output:\n{run.Output}");
            Assert.Contains("[Curriculum interrupted at level 1 of 1: run the same command again to resume it there]", run.Output, StringComparison.Ordinal);
        }

        int batches = CheckpointFile.ReadManifest(interrupted).State.BatchesIntoEpoch;
        Assert.True(batches > 0, "the checkpoint is in the middle of the epoch");
        (int resumed, string text) = await ToolProcess.RunAsync(temp.Path, command);
        Assert.True(resumed == 0, text);
        Assert.Contains("resuming new_llm_hh_rlhf_layers1_interrupted.pt.", text, StringComparison.Ordinal);
        Assert.Contains("Curriculum finished:", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MistakesAreRefusedBeforeAnythingIsWritten()
    {
        using var temp = new TempDirectory();
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "curriculum", "--levels", "dolly,hhrlhf");
        Assert.Equal(1, code);
        Assert.Equal("error: 'hhrlhf' is not a level of the curriculum; its levels are dolly, hh-rlhf, ultrachat, codealpaca, math.", text.Trim());
        (code, text) = await ToolProcess.RunAsync(temp.Path, "curriculum", "--levels", "dolly", "--data-dir", "dolly=missing");
        Assert.Equal(1, code);
        Assert.Equal("error: --data-dir dolly=missing: 'missing' does not exist.", text.Trim());
        (code, text) = await ToolProcess.RunAsync(temp.Path, "curriculum", "--recipe", "recipe.json");
        Assert.Equal(1, code);
        Assert.Equal("error: The recipe file 'recipe.json' does not exist.", text.Trim());
        (code, text) = await ToolProcess.RunAsync(temp.Path, "curriculum", "--vocabulary", "rebuilt");
        Assert.Equal(1, code);
        Assert.Contains("Argument 'rebuilt' not recognized. Must be one of:", text, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }
}
