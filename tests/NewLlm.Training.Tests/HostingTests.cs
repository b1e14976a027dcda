using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NewLlm.Data;

namespace NewLlm.Training.Tests;

public class HostingTests
{
    private static ServiceProvider Services(params (string Key, string Value)[] values) => new ServiceCollection()
        .AddNewLlm(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => KeyValuePair.Create($"NewLlm:{v.Key}", (string?)v.Value)))
            .Build()
            .GetSection("NewLlm"))
        .BuildServiceProvider();

    [Fact]
    public void AddNewLlmBindsEachOptionsTypeToItsSection()
    {
        using var services = Services(
            ("Model:NumLayers", "2"), ("Generation:Temperature", "0.5"), ("Hub:Revision", "v2"), ("Corpus:MaxSequenceLength", "64"),
            ("DialogueCorpus:VocabularySize", "500"), ("Trainer:Epochs", "3"), ("Trainer:OutputDirectory", "run"),
            ("Curriculum:Vocabulary", "Rebuild"), ("Curriculum:DataDirectories:dolly", "data/dolly"), ("TransformerBaseline:NumHeads", "8"));

        services.GetRequiredService<IStartupValidator>().Validate();

        Assert.Equal(2, services.GetRequiredService<IOptions<NewLlmOptions>>().Value.NumLayers);
        Assert.Equal(0.5, services.GetRequiredService<IOptions<GenerationOptions>>().Value.Temperature);
        Assert.Equal(8, services.GetRequiredService<IOptions<TransformerBaselineOptions>>().Value.NumHeads);
        Assert.Equal("v2", services.GetRequiredService<IOptions<HuggingFaceHubOptions>>().Value.Revision);
        Assert.Equal(64, services.GetRequiredService<IOptions<TokenizedCorpusOptions>>().Value.MaxSequenceLength);
        Assert.Equal(500, services.GetRequiredService<IOptions<DialogueCorpusOptions>>().Value.VocabularySize);
        var trainer = services.GetRequiredService<IOptions<TrainerOptions>>().Value;
        Assert.Equal((3, "run"), (trainer.Epochs, trainer.OutputDirectory));
        var curriculum = services.GetRequiredService<IOptions<CurriculumOptions>>().Value;
        Assert.Equal((VocabularyPolicy.Rebuild, "data/dolly"), (curriculum.Vocabulary, curriculum.DataDirectories["dolly"]));
        Assert.NotNull(services.GetRequiredService<HuggingFaceHubDownloader>());
    }

    [Fact]
    public void TheStartupCheckReportsEveryBadValueNamingItsOption()
    {
        using var services = Services(("Trainer:BatchSize", "0"), ("Model:Dropout", "1.5"), ("Curriculum:Tokenizer", "words"), ("TransformerBaseline:EmbedDim", "30"));

        var e = Assert.Throws<AggregateException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        string messages = string.Join("\n", e.InnerExceptions.Select(i => Assert.IsType<OptionsValidationException>(i).Message));
        Assert.Contains("TrainerOptions.BatchSize must be at least 1, but is 0.", messages, StringComparison.Ordinal);
        Assert.Contains("NewLlmOptions.Dropout must be in [0, 1), but is 1.5.", messages, StringComparison.Ordinal);
        Assert.Contains("CurriculumOptions.Tokenizer", messages, StringComparison.Ordinal);
        Assert.Contains("TransformerBaselineOptions.EmbedDim must be a multiple of NumHeads (4), but is 30.", messages, StringComparison.Ordinal);
    }
}
