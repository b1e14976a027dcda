using NewLlm.Tests;
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

    [SkippableFact]
    public async Task CtrlCAtThePromptEndsTheChatAtOnce()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals");
        using var temp = new NewLlm.Tests.TempDirectory();
        string hh = TinyHhRlhfFolder.Create(temp.Path);
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, "train", "--data-dir", hh, "--subset", "harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", temp.Combine("hh"));
        Assert.True(code == 0, text);

        using ChildProgram chat = ToolProcess.StartWaitingForInput(temp.Path, "chat", "--checkpoint", Path.Combine(temp.Path, "hh", "new_llm_hh_rlhf_layers1_final.pt"));
        await chat.WaitForOutputAsync("Ctrl+C ends.", TimeSpan.FromMinutes(1));
        await Task.Delay(TimeSpan.FromSeconds(0.5)); // waiting for a line now
        chat.SignalTwice("INT"); // as GNU timeout delivers it: to the process, then to its group
        code = await chat.WaitForExitAsync(TimeSpan.FromSeconds(20));
        Assert.True(code == 130, $"exit code {code}; output:\n{chat.Output}");
        Assert.Contains("[Interrupted]", chat.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("checkpoint", chat.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("training step", chat.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("again", chat.Output, StringComparison.Ordinal); // the repeat delivery is the same request
    }

    [Fact]
    public async Task ABaselineCheckpointIsRebuiltWithItsHeadsAndItsTokenizerChecked()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string hh = TinyHhRlhfFolder.Create(temp.Path);
        string chatData = TinyDialogueFiles.Chat(temp.Path, rows: 40);
        string[] tiny = ["--subset", "harmless", "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24"];
        (int code, string text) = await ToolProcess.RunAsync(temp.Path, ["train", "--data-dir", hh, .. tiny, "--output", temp.Combine("hh")]);
        Assert.True(code == 0, text);
        (code, text) = await ToolProcess.RunAsync(temp.Path, ["train", "--model", "transformer", "--num_heads", "2", "--data-dir", hh, .. tiny, "--output", temp.Combine("t")]);
        Assert.True(code == 0, text);
        (code, text) = await ToolProcess.RunAsync(temp.Path, "train", "--dataset", "jsonl", "--data-dir", chatData, "--epochs", "1", "--batch_size", "16", "--max_seq_length", "24", "--output", temp.Combine("chat"));
        Assert.True(code == 0, text);
        string checkpoint = Path.Combine(temp.Path, "hh", "new_llm_hh_rlhf_layers1_final.pt");
        string baseline = Path.Combine(temp.Path, "t", "transformer_hh_rlhf_layers1_final.pt");

        // The heads it records, 2, whether --num-heads says so or is left out; another count is refused naming both.
        foreach (string[] heads in new[] { Array.Empty<string>(), ["--num-heads", "2"] })
        {
            (code, text) = await ToolProcess.RunAsync(temp.Path, ["chat", "--checkpoint", checkpoint, "--baseline-weights", baseline, .. heads, "--greedy", "--max-tokens", "3", "--prompt", "hello"]);
            Assert.True(code == 0, text);
            Assert.Contains("Transformer baseline", text, StringComparison.Ordinal);
        }

        (code, text) = await ToolProcess.RunAsync(temp.Path, "chat", "--checkpoint", checkpoint, "--baseline-weights", baseline, "--num-heads", "8", "--prompt", "hello");
        Assert.True(code == 1, text);
        Assert.Contains("records 2 attention heads, but --num-heads is 8", text, StringComparison.Ordinal);

        // --num-heads means nothing without --baseline-weights.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "chat", "--checkpoint", checkpoint, "--num-heads", "2", "--prompt", "hello");
        Assert.True(code == 1, text);
        Assert.Contains("--num-heads is the heads of --baseline-weights", text, StringComparison.Ordinal);

        // Weights trained with another tokenizer than the --checkpoint's would read its ids as other words.
        (code, text) = await ToolProcess.RunAsync(temp.Path, "chat", "--checkpoint", Path.Combine(temp.Path, "chat", "new_llm_dialogue_layers1_final.pt"), "--baseline-weights", baseline, "--prompt", "hello");
        Assert.True(code == 1, text);
        Assert.Contains("trained with another tokenizer", text, StringComparison.Ordinal);
        Assert.Contains("the tokenizer of --checkpoint", text, StringComparison.Ordinal);
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
