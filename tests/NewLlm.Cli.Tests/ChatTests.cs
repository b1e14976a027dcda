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
}
