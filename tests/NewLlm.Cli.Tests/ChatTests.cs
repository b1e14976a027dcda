using NewLlm.Training;

namespace NewLlm.Cli.Tests;

/// <summary><c>newllm chat</c> speaks to a checkpoint in the turn labels of the data it was trained on.</summary>
[Trait("Category", "Slow")]
public sealed class ChatTests
{
    [Fact]
    public async Task ChatUsesTheTurnLabelsOfTheCheckpointsDataSet()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string chat = TinyDialogueFiles.Chat(temp.Path, rows: 40);
        string hh = TinyHhRlhfFolder.Create(temp.Path);
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "jsonl", "--data-dir", chat, "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", temp.Combine("chat"));
        Assert.True(code == 0, text);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", hh, "--subset", "harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", temp.Combine("hh"));
        Assert.True(code == 0, text);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "chat", "--checkpoint", Path.Combine(temp.Path, "chat", "new_llm_dialogue_layers1_final.pt"), "--prompt", "hello", "--seed", "1", "--max-tokens", "5");
        Assert.True(code == 0, text);
        Assert.Contains("turns as 'User: ... Assistant: ...'", text, StringComparison.Ordinal);
        Assert.Contains("\nUser: hello\n", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("Human:", text, StringComparison.Ordinal);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "chat", "--checkpoint", Path.Combine(temp.Path, "hh", "new_llm_hh_rlhf_layers1_final.pt"), "--prompt", "hello", "--seed", "1", "--max-tokens", "5");
        Assert.True(code == 0, text);
        Assert.Contains("turns as 'Human: ... Assistant: ...'", text, StringComparison.Ordinal);
        Assert.Contains("\nHuman: hello\n", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatTakesATransformerBaselineAndEndsWhenItsPositionsRunOut()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string hh = TinyHhRlhfFolder.Create(temp.Path);
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", hh, "--subset", "harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", temp.Combine("hh"));
        Assert.True(code == 0, text);
        string checkpoint = Path.Combine(temp.Path, "hh", "new_llm_hh_rlhf_layers1_final.pt");
        int vocabulary;
        using (LanguageModel trained = CheckpointFile.LoadModel(checkpoint))
        {
            vocabulary = trained.VocabSize;
        }

        string weights = temp.Combine("baseline.safetensors");
        using (var baseline = new TransformerBaselineModel(new TransformerBaselineOptions { VocabSize = vocabulary, EmbedDim = 16, NumHeads = 2, HiddenDim = 32, NumLayers = 1, MaxSeqLength = 20, Seed = 1 }))
        {
            baseline.SaveSafetensors(weights);
        }

        (code, text) = await ToolProcess.RunAsync(temp.Path, "chat", "--checkpoint", checkpoint, "--baseline-weights", weights, "--num-heads", "2", "--greedy", "--max-tokens", "4", "--prompt", "hello", "how are you today", "and tomorrow", "and after");
        Assert.True(code == 0, text);
        Assert.Contains("Transformer baseline", text, StringComparison.Ordinal);
        Assert.Contains("\nHuman: hello\n", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("a key/value cache of", text, StringComparison.Ordinal);
        Assert.Contains("of 20 positions used", text, StringComparison.Ordinal);
        Assert.Contains("\nHuman: and tomorrow\n(the model has read 18 of its 20 positions and has no room for this turn", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("Human: and after", text, StringComparison.Ordinal);

        // A reply longer than the positions left ends where they do.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "chat", "--checkpoint", checkpoint, "--baseline-weights", weights, "--num-heads", "2", "--greedy", "--max-tokens", "40", "--prompt", "hello");
        Assert.True(code == 0, text);
        Assert.Contains("(the model has read all its 20 positions)", text, StringComparison.Ordinal);
        Assert.Contains("20 of 20 positions used", text, StringComparison.Ordinal);

        (code, text) = await ToolProcess.RunAsync(temp.Path, "chat", "--checkpoint", checkpoint, "--baseline-weights", temp.Combine("missing.safetensors"), "--prompt", "hello");
        Assert.NotEqual(0, code);
        Assert.Contains("--baseline-weights", text, StringComparison.Ordinal);
    }
}
