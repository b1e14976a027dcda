using System.Text.Json.Nodes;
using NewLlm.Data;
using NewLlm.Training;

namespace NewLlm.Cli.Tests;

/// <summary>
/// <c>newllm train</c> on the other sets used as a person uses it: a set by name from a local folder, the shortest resume, the
/// next level of a curriculum from a checkpoint, a bad row, options that do not fit the set. Each test runs the built
/// tool as a child process on small files written here.
/// </summary>
[Trait("Category", "Slow")]
public sealed class TrainDialogueTests
{

    [Fact]
    public async Task ASetTrainsFromItsFolderResumesWithTheShortestCommandAndTheNextLevelStartsFromItsWeights()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string dolly = TinyDialogueFiles.Dolly(temp.Path);
        string output = temp.Combine("out");
        const string Model = "new_llm_dolly_layers1";
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "dolly", "--data-dir", dolly, "--epochs", "1", "--batch_size", "32", "--max_seq_length", "24", "--seed", "3", "--output", output);
        Assert.True(code == 0, text);
        Assert.Contains("Data: 180 training and 20 test dialogues of Dolly-15k from", text, StringComparison.Ordinal); // the 90/10 split
        string final = Path.Combine(output, Model + "_final.pt");
        CheckpointManifest manifest = CheckpointFile.ReadManifest(final);
        Assert.Equal("dolly", (string?)manifest.TrainerOptions["dataset"]);
        Assert.Equal(24, (int?)manifest.TrainerOptions["max_seq_length"]);

        // The natural command: the checkpoint and a new total; the set, folder and settings come from it.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--epochs", "2");
        Assert.True(code == 0, text);
        Assert.Contains("its settings are kept except --epochs 1 -> 2.", text, StringComparison.Ordinal);
        Assert.Equal(2, CheckpointFile.ReadManifest(final).State.CompletedEpochs);

        // Another set on --resume is refused, pointing at --from; a differing length too.
        string chat = TinyDialogueFiles.Chat(temp.Path);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--dataset", "jsonl", "--data-dir", chat);
        Assert.Equal(1, code);
        Assert.Equal($"error: --resume {final} continues a run on Dolly-15k, not JSON Lines. To train its model on JSON Lines as the next level, start a new run from it: --from {final} --dataset jsonl.", text.Trim());
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", final, "--max_seq_length", "32", "--epochs", "3");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --max_seq_length 32 differs from the checkpoint's 24", text, StringComparison.Ordinal);

        // The next level: a new run from the checkpoint's weights and vocabulary, in a folder named after the set.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--from", final, "--dataset", "jsonl", "--data-dir", chat, "--epochs", "1");
        Assert.True(code == 0, text);
        Assert.Contains("Vocabulary: the checkpoint's ", text, StringComparison.Ordinal);
        Assert.Contains("warning: The given vocabulary leaves", text, StringComparison.Ordinal); // 'please', 'tonight', ... are new words
        string next = Path.Combine(output, "jsonl", "new_llm_dialogue_layers1_final.pt");
        CheckpointManifest level2 = CheckpointFile.ReadManifest(next);
        Assert.Equal(Path.GetFullPath(final), (string?)level2.TrainerOptions["from_checkpoint"]);
        Assert.Equal("checkpoint", (string?)level2.TrainerOptions["vocabulary"]);
        Assert.Equal(24, (int?)level2.TrainerOptions["max_seq_length"]); // the recipe comes from the checkpoint
        Assert.Equal(1, level2.State.CompletedEpochs);
        DialogueTokenizer first = CheckpointFile.LoadTokenizer(final)!, second = CheckpointFile.LoadTokenizer(next)!;
        Assert.Equal(first.Fingerprint, second.Fingerprint);

        // Rebuilding the vocabulary gives the new set's words ids.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--from", final, "--dataset", "jsonl", "--data-dir", chat, "--epochs", "1", "--vocabulary", "rebuild", "--output", temp.Combine("rebuilt"));
        Assert.True(code == 0, text);
        DialogueTokenizer rebuilt = CheckpointFile.LoadTokenizer(temp.Combine("rebuilt", "new_llm_dialogue_layers1_final.pt"))!;
        Assert.NotEqual(first.Fingerprint, rebuilt.Fingerprint);
        Assert.Contains(first.UnkId, first.Encode("please tonight"));
        Assert.DoesNotContain(rebuilt.UnkId, rebuilt.Encode("please tonight"));
    }

    [Fact]
    public async Task ACheckpointWidenedByReplicationValidatesAsBeforeTrainsFrozenAndResumes()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string dolly = TinyDialogueFiles.Dolly(temp.Path, rows: 120);
        string output = temp.Combine("out");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "dolly", "--data-dir", dolly, "--epochs", "1", "--batch_size", "32", "--max_seq_length", "24", "--context_dim", "8", "--output", output);
        Assert.True(code == 0, text);
        string final = Path.Combine(output, "new_llm_dolly_layers1_context8_final.pt");

        // The shortest form: the set, its folder and the recipe come from the checkpoint.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--from", final, "--expand-context", "16", "--expansion", "replicate", "--freeze-base-dims", "--epochs", "1");
        Assert.True(code == 0, text);
        string before = text.Split('\n').Single(l => l.StartsWith("Validation before expansion (context 8): PPL ", StringComparison.Ordinal)).Trim();
        string after = text.Split('\n').Single(l => l.StartsWith("Validation after expansion to 16 (replicate): PPL ", StringComparison.Ordinal)).Trim();
        Assert.Equal(before[(before.LastIndexOf(' ') + 1)..], after[(after.LastIndexOf(' ') + 1)..]); // replication keeps the function
        string widened = Path.Combine(output, "dolly", "new_llm_dolly_layers1_context16_final.pt");
        CheckpointManifest manifest = CheckpointFile.ReadManifest(widened);
        Assert.Equal(16, manifest.ModelOptions!.ContextDim);
        Assert.Equal(8, (int?)manifest.TrainerOptions["expanded_from_context"]);
        Assert.True((bool?)manifest.TrainerOptions["freeze_base_dims"]);
        using (NewLlmModel narrow = (NewLlmModel)CheckpointFile.LoadModel(final))
        using (NewLlmModel wide = (NewLlmModel)CheckpointFile.LoadModel(widened))
        {
            var old = narrow.state_dict();
            var now = wide.state_dict();
            Assert.True(now["context_update.weight"].narrow(0, 0, 8).equal(old["context_update.weight"]).all().item<bool>(), "the frozen rows did not move");
            Assert.False(now["context_update.weight"].narrow(0, 8, 8).equal(old["context_update.weight"]).all().item<bool>(), "the new rows trained");
        }

        // An expanded run resumes like any other, freezing as it did.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", widened, "--epochs", "2");
        Assert.True(code == 0, text);
        Assert.Equal(2, CheckpointFile.ReadManifest(widened).State.CompletedEpochs);
        Assert.True((bool?)CheckpointFile.ReadManifest(widened).TrainerOptions["freeze_base_dims"]);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--resume", widened, "--expand-context", "32");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --expand-context widens a trained model: give the checkpoint with --from", text.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARefusedFromOrResumeCheckpointLeavesNoFolderBesideIt()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string dolly = TinyDialogueFiles.Dolly(temp.Path);
        string chat = TinyDialogueFiles.Chat(temp.Path);
        string output = temp.Combine("out");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "dolly", "--data-dir", dolly, "--epochs", "1", "--batch_size", "32", "--max_seq_length", "24", "--output", output);
        Assert.True(code == 0, text);

        // --from writes beside the checkpoint (incoming/jsonl) by default: a checkpoint it refuses must leave no such folder.
        string incoming = temp.Combine("incoming");
        Directory.CreateDirectory(incoming);
        string reshaped = Path.Combine(incoming, "reshaped.pt");
        TrainHhRlhfTests.WriteWithContextDim(Path.Combine(output, "new_llm_dolly_layers1_final.pt"), reshaped, 512);
        string truncated = Path.Combine(incoming, "truncated.pt");
        byte[] bytes = await File.ReadAllBytesAsync(Path.Combine(output, "new_llm_dolly_layers1_final.pt"));
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length / 3)]);
        foreach (string bad in new[] { reshaped, truncated })
        {
            foreach (string[] run in new[] { new[] { "--from", bad, "--dataset", "jsonl", "--data-dir", chat, "--epochs", "1" }, new[] { "--resume", bad, "--epochs", "2", "--output", temp.Combine("elsewhere") } })
            {
                (code, text) = await ToolProcess.RunAsync(temp.Path, ["train", .. run]);
                Assert.True(code == 1, $"{string.Join(' ', run)}: exit code {code}; output:\n{text}");
                string line = Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                Assert.StartsWith("error: ", line, StringComparison.Ordinal);
                Assert.Contains(bad, line, StringComparison.Ordinal);
                Assert.Equal(new[] { reshaped, truncated }, Directory.GetFileSystemEntries(incoming).Order(StringComparer.Ordinal));
                Assert.False(Directory.Exists(temp.Combine("elsewhere")));
            }
        }
    }

    [Fact]
    public async Task ABadRowGetsOneErrorLineNamingTheFileAndLineAndNothingIsTrained()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string chat = TinyDialogueFiles.Chat(temp.Path, rows: 40);
        string[] lines = File.ReadAllLines(chat);
        lines[6] = "{\"messages\": [{\"role\": \"user\"}]}";
        File.WriteAllLines(chat, lines);
        string output = temp.Combine("out");
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "jsonl", "--data-dir", chat, "--output", output);
        Assert.Equal(1, code);
        Assert.EndsWith($"error: '{chat}' line 7: message 0 of 'messages' has no 'content' string (its fields: role).", text.Trim(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(output) && Directory.EnumerateFiles(output, "*.pt").Any(), "nothing is trained"); // the folder itself is made only once data are cached

        File.WriteAllText(Path.Combine(temp.Path, "text.jsonl"), "{\"text\": \"hello there\"}\n{\"body\": \"no text\"}\n");
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "jsonl", "--data-dir", "text.jsonl", "--output", output);
        Assert.Equal(1, code);
        Assert.Contains($"error: '{Path.Combine(temp.Path, "text.jsonl")}' line 2:", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("error: --preference-accuracy compares HH-RLHF's chosen and rejected replies; Dolly-15k has no such pairs. Leave it out.", "--dataset", "dolly", "--preference-accuracy")]
    [InlineData("error: --subset is only for --dataset hh-rlhf; Dolly-15k has no subsets. Leave --subset out.", "--dataset", "dolly", "--subset", "harmless")]
    [InlineData("error: --dataset 'dolyl' is not a dialogue data set; expected one of hh-rlhf, dolly, ultrachat, ultrachat-200k, codealpaca, math, jsonl.", "--dataset", "dolyl")]
    [InlineData("error: --dataset jsonl reads your own files: give --data-dir with a .jsonl (or .jsonl.gz) file, or a folder with train.jsonl and test.jsonl.", "--dataset", "jsonl")]
    [InlineData("error: --text-field and --messages-field are for --dataset jsonl; UltraChat has its own fields. Leave them out.", "--dataset", "ultrachat", "--text-field", "body")]
    [InlineData("error: --vocabulary chooses the vocabulary of a run started --from a checkpoint; without --from, a new run builds its own and a resumed run keeps its checkpoint's.", "--dataset", "dolly", "--vocabulary", "rebuild")]
    public async Task AMistakeGetsOneClearLine(string expected, params string[] arguments)
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, ["train", .. arguments, "--output", temp.Combine("out")]);
        Assert.Equal(1, code);
        Assert.Equal(expected, text.Trim());
    }

    [Fact]
    public async Task ATypoGetsSystemCommandLinesSuggestion()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--datset", "dolly", "--output", temp.Combine("out"));
        Assert.Equal(1, code);
        Assert.Contains("Unrecognized command or argument '--datset'.", text, StringComparison.Ordinal);
        Assert.Contains("'--datset' was not matched. Did you mean one of the following?\n--dataset\n", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("out")));
    }

    [Fact]
    public async Task AWrongFolderSaysWhatTheSetNeedsAndWhatTheFolderHolds()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string chat = TinyDialogueFiles.Chat(temp.Path, rows: 10);
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "dolly", "--data-dir", temp.Path, "--output", temp.Combine("out"));
        Assert.Equal(1, code);
        Assert.Contains($"error: '{temp.Path}' holds no databricks-dolly-15k.jsonl.", text, StringComparison.Ordinal);
        Assert.Contains("It holds chat.jsonl", text, StringComparison.Ordinal);
    }
}
