using NewLlm.Data;
using NewLlm.Training;

namespace NewLlm.Samples.Tests;

/// <summary><c>samples/Curriculum</c>: Dolly, then HH-RLHF from the Dolly level's best weights and vocabulary, its context widened, on the curriculum runner.</summary>
[Trait("Category", "Slow")]
public sealed class CurriculumTests
{
    [Fact]
    public async Task TheSecondLevelStartsFromTheFirstLevelsBestWeightsAndVocabularyWidenedAndARunAgainReportsTheFinishedCurriculum()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string dolly = TinyDialogueFiles.Dolly(temp.Path, rows: 100);
        string hh = TinyHhRlhfFolder.Create(temp.Path, trainRows: 96, testRows: 16);
        string output = temp.Combine("curriculum");

        (int code, string text) = await SampleProcess.RunAsync("Curriculum", temp.Path, dolly, hh, output, "1");

        Assert.True(code == 0, text);
        string first = Path.Combine(output, "01-dolly", "best_new_llm_dolly_layers1.pt");
        string second = Path.Combine(output, "02-hh-rlhf", "best_new_llm_hh_rlhf_layers1_context512.pt");
        Assert.Contains($"starting from {first}: context 256 -> 512 (Replicate); a fresh optimizer.", text, StringComparison.Ordinal);
        Assert.Contains("Completed: 2 of 2 levels (0 finished by an earlier run).", text, StringComparison.Ordinal);
        Assert.Equal(256, CheckpointFile.ReadManifest(first).ModelOptions!.ContextDim);
        Assert.Equal(512, CheckpointFile.ReadManifest(second).ModelOptions!.ContextDim);

        // The vocabulary is Dolly's, carried to HH-RLHF, and the second level records where its weights came from.
        DialogueTokenizer dollyVocabulary = CheckpointFile.LoadTokenizer(first)!;
        Assert.Equal(dollyVocabulary.Fingerprint, CheckpointFile.LoadTokenizer(second)!.Fingerprint);
        Assert.Equal(first, CheckpointFile.ReadManifest(second).TrainerOptions["from_checkpoint"]!.GetValue<string>());

        (code, text) = await SampleProcess.RunAsync("Curriculum", temp.Path, dolly, hh, output, "1");
        Assert.True(code == 0, text);
        Assert.Contains("Completed: 2 of 2 levels (2 finished by an earlier run).", text, StringComparison.Ordinal);
    }
}
