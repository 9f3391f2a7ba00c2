"""The word list for one-time challenge phrases: short, common, easily spoken English words.

Six words drawn with `secrets.choice` give over 48 bits: far more than anyone can guess in the ten
minutes a challenge lives, and short enough to read aloud on camera.
"""

from __future__ import annotations

WORDS: tuple[str, ...] = tuple(
    """
    acorn actor adult alarm album alley amber angle ankle apple apron arena arrow atlas
    audio autumn avenue bacon badge baker bamboo banjo barn basin basket beach beard
    bench berry bicycle blanket blossom board bottle bracket branch bread breeze brick
    bridge brook brush bucket button cabin cactus camel candle canoe canvas carpet carrot
    castle cattle cellar cereal chair chalk cherry chess chimney circle citrus cliff clock
    cloud clover coast cobalt coffee comet copper coral cotton cousin cradle crane crayon
    cricket crystal cupboard curtain cushion daisy dancer desert diamond dinner dolphin
    donkey dragon drawer dream drum eagle easel echo elbow ember engine falcon feather
    fence fiddle field finch flame flannel flute forest fossil fountain fox garden garlic
    ginger glacier glove goose granite grape gravel guitar hammer harbor harvest hazel
    helmet heron hollow honey horizon island ivory jacket jasmine jelly jigsaw kettle
    kitten ladder lagoon lantern lemon letter lily linen lizard lobster locket magnet
    mango maple marble meadow melon mirror mitten monkey mosaic motor mountain muffin
    napkin needle nest noodle nutmeg oasis ocean olive onion orange orchid otter oyster
    paddle palace panda paper parrot peach pebble pencil pepper piano pigeon pillow
    pirate planet pocket pony poppy potato pumpkin puzzle quartz quill rabbit radio
    raisin raven ribbon river robin rocket saddle salmon sandal satin scarf season
    shadow shell silver sketch sleeve slipper spider spoon spring squirrel stable
    statue stone straw sugar summer sunset swan table teapot thimble thunder ticket
    tiger timber toast tomato tower tractor trumpet tulip tunnel turtle umbrella valley
    velvet violin wagon walnut walrus wander window winter wizard wool yellow zebra
    zipper anchor beacon
    """.split()
)
